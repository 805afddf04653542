import Logging
import SwitchmanCore

/// Follows one Patroni cluster through ZooKeeper (libzookeeper-mt, asynchronous calls only).
///
/// Watches `leader`, `status`, `optime/leader`, `sync`, the `members` children and each member's data;
/// every watch is re-armed by the read its event triggers; every (re)connect re-reads the whole
/// picture. After `ZOO_EXPIRED_SESSION_STATE` — or a disconnect longer than the negotiated session
/// timeout, which the server will have expired anyway — the handle is closed, a new one is created and
/// everything is re-read.
///
/// `onEvent` runs on the watcher's own thread (`switchman-zookeeper`, never the C client's), one event
/// at a time and in order; it may block briefly but should post and return. No event is delivered after
/// `stop()` returns.
public final class PatroniWatcher: Sendable {
    let core: WatcherCore

    /// - Parameters:
    ///   - configuration: the `cluster:` section (ensemble, auth, namespace, scope, session timeout).
    ///   - logger: where the watcher and the C client log (the C client's lines at one level lower).
    ///   - onEvent: receives `.topology` snapshots and `.session` health changes.
    public convenience init(
        configuration: ClusterConfiguration,
        logger: Logger = Logger(label: "switchman.discovery"),
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        self.init(configuration: configuration, logger: logger, localExpiry: true, retryDelay: .seconds(1), onEvent: onEvent)
    }

    /// Test seam: `localExpiry: false` waits for the server to report the expiry.
    init(
        configuration: ClusterConfiguration,
        logger: Logger,
        localExpiry: Bool,
        retryDelay: Duration,
        readFault: (@Sendable (PatroniNode) -> Int32?)? = nil,
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        core = WatcherCore(
            configuration: configuration, logger: logger, localExpiry: localExpiry, retryDelay: retryDelay,
            readFault: readFault, onEvent: onEvent
        )
    }

    deinit {
        core.stop()
    }

    /// Starts the watcher thread, which connects and reads the cluster. Calling it again does nothing.
    public func start() {
        core.start()
    }

    /// Closes the ZooKeeper handle and ends the thread; waits for it unless called from `onEvent`.
    /// Idempotent. A stopped watcher cannot be started again.
    public func stop() {
        core.stop()
    }

    /// The current ZooKeeper session id, `nil` while there is none (before the first connect, after expiry).
    public var sessionID: Int64? { core.sessionID }

    /// The health last reported through `onEvent`, `nil` before the first complete read.
    public var health: DiscoveryHealth? { core.health }
}
