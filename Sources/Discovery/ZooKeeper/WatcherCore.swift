import CZooKeeper
import Foundation
import Logging
import SwitchmanCore

/// The state and threads behind a ``PatroniWatcher``.
///
/// Threads: the C client's completion thread (one per handle) runs the callbacks, which update the
/// state under `condition` and issue further asynchronous requests; the watcher's own *delivery
/// thread* creates and closes handles (`zookeeper_close` joins the completion thread, so it must not run
/// there), declares a session lost after a disconnect longer than the session timeout, and calls
/// `onEvent` — with no lock held, one event at a time, in order.
///
/// `@unchecked Sendable`: every mutable field lives in `state`, read and written only with `condition`
/// locked; the rest is immutable.
final class WatcherCore: @unchecked Sendable {
    /// Whether a read fetches data, sets an exists watch, or lists children.
    enum ReadKind { case data, exists, children }

    /// A request to issue once the lock is released.
    struct Read {
        let kind: ReadKind
        let node: PatroniNode
    }

    struct State {
        var handle: OpaquePointer?
        var handleContext: Unmanaged<HandleContext>?
        /// Bumped before each new handle; callbacks of older handles are ignored.
        var epoch: UInt64 = 0
        /// Bumped on each CONNECTED event; answers of an earlier connection are ignored.
        var round: UInt64 = 0
        var pending = 0
        var roundFailed = false
        var resyncing = false
        var connected = false
        var disconnectedSince: ContinuousClock.Instant?
        var sessionTimeout: Duration?
        var sessionID: Int64?
        var replaceAt: ContinuousClock.Instant?
        /// A read of the current round failed: the whole cluster is read again at this time.
        var resyncAt: ContinuousClock.Instant?
        /// Failed rounds in a row (for the backoff).
        var failedRounds = 0
        var started = false
        var stopping = false
        var stopped = false
        var handlesOpened = 0
        var events: [DiscoveryEvent] = []
        var znodes = PatroniZNodes()
        var lastTopology: Topology?
        var health: DiscoveryHealth?
        var loggedInvalid: [String: String] = [:]
    }

    let configuration: ClusterConfiguration
    let paths: PatroniPaths
    let logger: Logger
    /// The logger the C client's lines go to (without this watcher's scope: the bridge is process-wide).
    let clientLogger: Logger
    let onEvent: @Sendable (DiscoveryEvent) -> Void
    /// Declare the session lost after a disconnect longer than the session timeout, without waiting
    /// for a server to say so (a partitioned client would otherwise trust its picture forever).
    let localExpiry: Bool
    /// Pause before a new handle after an authentication failure or a failed `zookeeper_init`.
    let retryDelay: Duration

    /// Test seam: answers with this error code instead of a read's real one when it returns non-nil.
    let readFault: (@Sendable (PatroniNode) -> Int32?)?

    private let condition = NSCondition()
    private var state = State()
    private var thread: Thread?

    init(
        configuration: ClusterConfiguration,
        logger: Logger,
        localExpiry: Bool,
        retryDelay: Duration,
        readFault: (@Sendable (PatroniNode) -> Int32?)? = nil,
        onEvent: @escaping @Sendable (DiscoveryEvent) -> Void
    ) {
        self.readFault = readFault
        self.configuration = configuration
        self.clientLogger = logger
        self.paths = PatroniPaths(namespace: configuration.namespace, scope: configuration.scope)
        var logger = logger
        logger[metadataKey: "scope"] = "\(configuration.scope)"
        self.logger = logger
        self.localExpiry = localExpiry
        self.retryDelay = retryDelay
        self.onEvent = onEvent
    }

    // MARK: Life cycle (any thread)

    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !state.started else { return }
        state.started = true
        state.replaceAt = .now
        ZooKeeperLogBridge.install(clientLogger)
        let thread = Thread { [self] in runDeliveryThread() }
        thread.name = "switchman-zookeeper"
        self.thread = thread
        thread.start()
    }

    func stop() {
        condition.lock()
        defer { condition.unlock() }
        guard state.started, !state.stopping else { return }
        state.stopping = true
        condition.broadcast()
        // Called from onEvent (the delivery thread itself): it stops after the current event.
        guard Thread.current !== thread else { return }
        while !state.stopped { condition.wait() }
    }

    var sessionID: Int64? { withState { $0.sessionID } }
    var health: DiscoveryHealth? { withState { $0.health } }
    var handlesOpened: Int { withState { $0.handlesOpened } }

    private func withState<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&state)
    }

    // MARK: Delivery thread

    private func runDeliveryThread() {
        condition.lock()
        while !state.stopping {
            if !state.events.isEmpty {
                // One at a time, so that nothing is delivered after a stop() made from onEvent.
                let event = state.events.removeFirst()
                condition.unlock()
                onEvent(event)
                condition.lock()
                continue
            }
            let now = ContinuousClock.now
            if let at = state.replaceAt, now >= at {
                state.replaceAt = nil
                let old = detachHandle()
                state.epoch += 1
                let epoch = state.epoch
                condition.unlock()
                close(old)
                let opened = openHandle(epoch: epoch)
                condition.lock()
                if state.stopping || epoch != state.epoch {
                    condition.unlock()
                    close(opened)
                    condition.lock()
                } else if let opened {
                    state.handle = opened.zh
                    state.handleContext = opened.context
                    state.handlesOpened += 1
                } else {
                    state.replaceAt = .now + retryDelay
                }
                continue
            }
            if let at = state.resyncAt, now >= at {
                state.resyncAt = nil
                if let reads = beginRound(), let zh = state.handle, let handle = state.handleContext?.takeUnretainedValue() {
                    let round = state.round
                    condition.unlock()
                    issue(reads, zh: zh, handle: handle, round: round)
                    condition.lock()
                }
                continue
            }
            var deadline = [state.replaceAt, state.resyncAt].compactMap { $0 }.min()
            if localExpiry, !state.connected, let since = state.disconnectedSince, let timeout = state.sessionTimeout {
                let expiry = since + timeout
                if now >= expiry {
                    state.disconnectedSince = nil
                    sessionLost("no contact with ZooKeeper for longer than the session timeout (\(timeout))", retryAfter: .zero)
                    continue
                }
                deadline = deadline.map { min($0, expiry) } ?? expiry
            }
            if let deadline {
                let seconds = Self.seconds(deadline - now)
                _ = condition.wait(until: Date(timeIntervalSinceNow: max(0.001, seconds)))
            } else {
                condition.wait()
            }
        }
        let old = detachHandle()
        condition.unlock()
        close(old)
        condition.lock()
        state.stopped = true
        // The Thread holds the closure that holds self: let go of it, or neither is ever freed.
        thread = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Takes the current handle out of the state (lock held); the caller closes it unlocked.
    private func detachHandle() -> (zh: OpaquePointer, context: Unmanaged<HandleContext>)? {
        defer {
            state.handle = nil
            state.handleContext = nil
            state.connected = false
        }
        guard let zh = state.handle, let context = state.handleContext else { return nil }
        return (zh, context)
    }

    /// Closes a handle (lock not held: `zookeeper_close` joins the completion thread, whose callbacks
    /// take the lock, and calls outstanding completions with ZCLOSING).
    private func close(_ handle: (zh: OpaquePointer, context: Unmanaged<HandleContext>)?) {
        guard let handle else { return }
        let rc = zookeeper_close(handle.zh)
        if rc != ZOK.rawValue { logger.debug("zookeeper_close returned \(rc)") }
        handle.context.release()
    }

    private func openHandle(epoch: UInt64) -> (zh: OpaquePointer, context: Unmanaged<HandleContext>)? {
        let context = Unmanaged.passRetained(HandleContext(core: self, epoch: epoch))
        let hosts = configuration.zookeeper.hosts.map(\.description).joined(separator: ",")
        let timeout = Int32(clamping: Self.milliseconds(configuration.zookeeper.sessionTimeout))
        guard let zh = zookeeper_init2(
            hosts, zooKeeperSessionWatcher, timeout, nil, context.toOpaque(), 0, zooKeeperLogCallback
        ) else {
            let error = errno
            logger.error("zookeeper_init failed", metadata: ["hosts": "\(hosts)", "errno": "\(error)"])
            context.release()
            return nil
        }
        logger.info("ZooKeeper handle created", metadata: ["hosts": "\(hosts)", "handle": "\(epoch)"])
        if let auth = configuration.zookeeper.auth {
            // "digest:user:password": the scheme, then the credentials as zoo_add_auth wants them.
            let parts = auth.split(separator: ":", maxSplits: 1)
            let scheme = parts.count == 2 ? String(parts[0]) : "digest"
            let credentials = Array((parts.count == 2 ? String(parts[1]) : auth).utf8).map { CChar(bitPattern: $0) }
            let rc = credentials.withUnsafeBufferPointer { buffer in
                zoo_add_auth(zh, scheme, buffer.baseAddress, Int32(buffer.count), zooKeeperAuthCompletion, context.toOpaque())
            }
            if rc != ZOK.rawValue { logger.error("zoo_add_auth failed", metadata: ["rc": "\(rc)"]) }
        }
        return (zh, context)
    }

    // MARK: Callbacks (the C client's completion thread, or the closing thread with ZCLOSING)

    func sessionEvent(zh: OpaquePointer, handle: HandleContext, state zooState: Int32) {
        var reads: [Read] = []
        var round: UInt64 = 0
        condition.lock()
        guard handle.epoch == state.epoch, !state.stopping else { condition.unlock(); return }
        switch zooState {
        case ZOO_CONNECTED_STATE:
            state.connected = true
            state.disconnectedSince = nil
            state.resyncAt = nil
            state.failedRounds = 0
            reads = beginRound() ?? []
            state.sessionTimeout = .milliseconds(Int(zoo_recv_timeout(zh)))
            state.sessionID = zoo_client_id(zh).map { $0.pointee.client_id }
            round = state.round
            logger.info("connected to ZooKeeper, reading the cluster", metadata: [
                "session": "0x\(String(UInt64(bitPattern: state.sessionID ?? 0), radix: 16))",
                "session_timeout": "\(state.sessionTimeout ?? .zero)",
            ])
        case ZOO_EXPIRED_SESSION_STATE:
            state.disconnectedSince = nil
            sessionLost("ZooKeeper session expired", retryAfter: .zero)
        case ZOO_AUTH_FAILED_STATE:
            state.disconnectedSince = nil
            sessionLost("ZooKeeper authentication failed", retryAfter: retryDelay)
        default:
            // CONNECTING, ASSOCIATING, or 0 while the client looks for a server.
            if state.connected {
                state.connected = false
                state.disconnectedSince = .now
                if state.health == .live {
                    publishHealth(.reconnecting, detail: "connection to ZooKeeper lost; keeping the last picture")
                }
                logger.warning("connection to ZooKeeper lost; reconnecting within the session timeout")
                condition.broadcast()
            }
        }
        condition.unlock()
        issue(reads, zh: zh, handle: handle, round: round)
    }

    func nodeEvent(zh: OpaquePointer, handle: HandleContext, type: Int32, path: String) {
        condition.lock()
        guard handle.epoch == state.epoch, !state.stopping, let node = paths.node(at: path) else {
            condition.unlock()
            return
        }
        // Watches fire once: every event re-reads (and so re-arms) the node it names.
        let read = Read(kind: node == .membersDirectory ? .children : .data, node: node)
        state.pending += 1
        let round = state.round
        condition.unlock()
        issue([read], zh: zh, handle: handle, round: round)
    }

    func dataRead(_ operation: OperationContext, rc: Int32, bytes: [UInt8]) {
        var follow: [Read] = []
        let rc = readFault?(operation.node) ?? rc
        guard lockIfCurrent(operation) else { return }
        state.pending -= 1
        switch rc {
        case ZOK.rawValue:
            store(operation.node, bytes)
        case ZNONODE.rawValue:
            store(operation.node, nil)
            // A missing node sets no data watch: watch for its creation instead. A member's return
            // shows up in the members directory's children watch.
            if case .member = operation.node {} else { follow.append(Read(kind: .exists, node: operation.node)) }
        case ZNOAUTH.rawValue:
            logger.error("not allowed to read \(paths.path(of: operation.node)) (check cluster.zookeeper.auth)")
            store(operation.node, nil)
        default:
            state.roundFailed = true
        }
        finish(follow, operation)
    }

    func existsRead(_ operation: OperationContext, rc: Int32) {
        var follow: [Read] = []
        guard lockIfCurrent(operation) else { return }
        state.pending -= 1
        switch rc {
        case ZOK.rawValue:
            // Created between the failed read and this call: read it now.
            follow.append(Read(kind: operation.node == .membersDirectory ? .children : .data, node: operation.node))
        case ZNONODE.rawValue:
            break
        default:
            state.roundFailed = true
        }
        finish(follow, operation)
    }

    func childrenRead(_ operation: OperationContext, rc: Int32, names: [String]) {
        var follow: [Read] = []
        guard lockIfCurrent(operation) else { return }
        state.pending -= 1
        switch rc {
        case ZOK.rawValue:
            let listed = Set(names)
            for name in state.znodes.members.keys where !listed.contains(name) {
                state.znodes.members[name] = nil
            }
            for name in names.sorted() where state.resyncing || state.znodes.members[name] == nil {
                follow.append(Read(kind: .data, node: .member(name)))
            }
        case ZNONODE.rawValue:
            state.znodes.members = [:]
            follow.append(Read(kind: .exists, node: .membersDirectory))
        case ZNOAUTH.rawValue:
            logger.error("not allowed to list \(paths.path(of: .membersDirectory)) (check cluster.zookeeper.auth)")
            state.znodes.members = [:]
        default:
            state.roundFailed = true
        }
        finish(follow, operation)
    }

    func authenticated(handle: HandleContext, rc: Int32) {
        if rc == ZOK.rawValue {
            logger.debug("ZooKeeper authentication accepted")
        } else {
            logger.error("ZooKeeper authentication refused", metadata: ["rc": "\(rc)"])
        }
    }

    // MARK: Helpers (lock held unless said otherwise)

    /// Starts a round that reads (and watches) everything again; nil while disconnected.
    private func beginRound() -> [Read]? {
        guard state.connected else { return nil }
        state.round += 1
        state.roundFailed = false
        state.resyncing = true
        let reads = PatroniNode.singles.map { Read(kind: .data, node: $0) } + [Read(kind: .children, node: .membersDirectory)]
        state.pending = reads.count
        return reads
    }

    /// A round ended with a failed read: nothing of it is published (the picture could be half old,
    /// half new), and everything is read again after a pause (0.5 s, doubling up to 10 s) rather
    /// than only at the next reconnect, so the picture never freezes while the session is live.
    private func scheduleResync() {
        guard state.resyncAt == nil, state.connected else { return }
        let pause = min(500 << min(state.failedRounds, 5), 10_000)
        state.failedRounds += 1
        state.resyncAt = .now + .milliseconds(pause)
        logger.warning("a ZooKeeper read failed; reading the cluster again", metadata: ["in_ms": "\(pause)"])
        condition.broadcast()
    }

    /// Locks and returns true when the answer belongs to the current handle and connection.
    private func lockIfCurrent(_ operation: OperationContext) -> Bool {
        condition.lock()
        if operation.handle.epoch == state.epoch, operation.round == state.round, !state.stopping { return true }
        condition.unlock()
        return false
    }

    /// Counts follow-up reads, publishes if the picture is complete, unlocks, then issues them.
    private func finish(_ follow: [Read], _ operation: OperationContext) {
        state.pending += follow.count
        publishIfSettled()
        condition.unlock()
        issue(follow, zh: operation.zh, handle: operation.handle, round: operation.round)
    }

    private func store(_ node: PatroniNode, _ bytes: [UInt8]?) {
        switch node {
        case .leader: state.znodes.leader = bytes
        case .status: state.znodes.status = bytes
        case .legacyOptime: state.znodes.legacyOptime = bytes
        case .sync: state.znodes.sync = bytes
        case .failover: state.znodes.failover = bytes
        case .membersDirectory: break
        case .member(let name): state.znodes.members[name] = bytes
        }
    }

    /// Once no read is outstanding: a full snapshot after a resync (then `.live`), else one per change.
    private func publishIfSettled() {
        guard state.pending == 0 else { return }
        if state.roundFailed {
            scheduleResync()
            return
        }
        if state.resyncing { state.failedRounds = 0 }
        let topology = Topology(scope: configuration.scope, znodes: state.znodes)
        let previous = state.lastTopology
        if state.resyncing {
            state.resyncing = false
            enqueue(.topology(topology))
            if state.health != .live { publishHealth(.live, detail: "connected to ZooKeeper; cluster picture read") }
        } else if topology != previous {
            enqueue(.topology(topology))
        } else {
            return
        }
        state.lastTopology = topology
        if previous == nil || previous?.leaderName != topology.leaderName {
            logger.notice("leader changed", metadata: [
                "previous_leader": "\(previous?.leaderName ?? "none")",
                "leader": "\(topology.leaderName ?? "none")",
                "members": "\(topology.members.keys.sorted().joined(separator: ","))",
            ])
        }
        for (name, entry) in topology.members {
            guard let reason = entry.invalidReason else { continue }
            if state.loggedInvalid[name] != reason {
                state.loggedInvalid[name] = reason
                logger.warning("member data unusable; member kept out of routing", metadata: ["member": "\(name)", "reason": "\(reason)"])
            }
        }
        state.loggedInvalid = state.loggedInvalid.filter { topology.members[$0.key]?.invalidReason != nil }
    }

    /// The session cannot be trusted any more: writes fail closed, and a new handle replaces this one.
    private func sessionLost(_ detail: String, retryAfter delay: Duration) {
        // From now on the old handle's callbacks are ignored, even if it reconnects before it is closed.
        state.epoch += 1
        state.connected = false
        state.resyncing = false
        state.resyncAt = nil
        state.round += 1
        state.pending = 0
        state.sessionID = nil
        if state.health != .expired { publishHealth(.expired, detail: detail) }
        logger.error("\(detail); opening a new session and re-reading the cluster")
        state.replaceAt = .now + delay
        condition.broadcast()
    }

    private func publishHealth(_ health: DiscoveryHealth, detail: String) {
        state.health = health
        enqueue(.session(health, detail: detail))
    }

    private func enqueue(_ event: DiscoveryEvent) {
        state.events.append(event)
        condition.broadcast()
    }

    /// Issues reads on `zh` (lock not held). A request refused at once gets no completion: it is
    /// uncounted and marks the round failed (the reconnect that follows re-reads everything).
    private func issue(_ reads: [Read], zh: OpaquePointer, handle: HandleContext, round: UInt64) {
        let watcherContext = Unmanaged.passUnretained(handle).toOpaque()
        for read in reads {
            let path = paths.path(of: read.node)
            let operation = Unmanaged.passRetained(OperationContext(handle: handle, zh: zh, node: read.node, round: round))
            let data = UnsafeRawPointer(operation.toOpaque())
            let rc: Int32 = switch read.kind {
            case .data: zoo_awget(zh, path, zooKeeperPathWatcher, watcherContext, zooKeeperDataCompletion, data)
            case .exists: zoo_awexists(zh, path, zooKeeperPathWatcher, watcherContext, zooKeeperExistsCompletion, data)
            case .children: zoo_awget_children2(zh, path, zooKeeperPathWatcher, watcherContext, zooKeeperChildrenCompletion, data)
            }
            if rc != ZOK.rawValue {
                operation.release()
                condition.lock()
                if handle.epoch == state.epoch, round == state.round {
                    state.pending -= 1
                    state.roundFailed = true
                    publishIfSettled()
                }
                condition.unlock()
                logger.debug("request refused at once", metadata: ["path": "\(path)", "rc": "\(rc)"])
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
