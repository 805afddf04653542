import Glibc
import PosixIO
import Reactor
import SwitchmanCore

/// One listener as one event loop sees it: its socket on this loop, its current route, its
/// round-robin cursor, the sessions waiting for it, and this loop's share of its counters.
/// Loop-confined.
final class ListenerRuntime: EventHandler {
    let name: String
    var configuration: ListenerConfiguration {
        didSet { selector.balance = configuration.balance }
    }
    var route: ListenerRoute {
        didSet { routeSlots = nil }
    }
    /// The server slots of `route`'s servers in route order, made by ``ServerSlots`` on the first
    /// pick after each route change.
    var routeSlots: [ServerSlot]?
    /// Balancing state (the round-robin cursor) of this loop.
    var selector: BackendSelector
    let shared: ListenerShared
    // unowned(unsafe): the worker outlives everything it owns; the checked form cost ~5% of CPU
    // under load in reference counting.
    unowned(unsafe) let worker: Worker
    /// The group whose live sessions a cancel request with an unknown key is broadcast to: the
    /// listener itself when static, the whole cluster otherwise (a role change reopens the listener).
    let cancelGroup: CancelTable.Group

    /// The listening socket of this loop (SO_REUSEPORT: one per loop), `nil` once closed.
    private(set) var fd: Int32?
    private var registration: Registration?
    /// Accepting is paused (a limit was reached, or descriptors ran out).
    private(set) var paused = false
    /// The listener was removed by a reload; its sessions drain.
    private(set) var retired = false

    /// The accept call; tests put one in that fails the way a short kernel does.
    var acceptCall: (Int32) throws(IOError) -> IOResult<AcceptedSocket> = Socket.accept
    /// Accepts that failed in a row for want of descriptors or kernel memory (0: accepting fine).
    private var shortageFailures = 0
    /// When a shortage was last logged (monotonic nanoseconds; 0: never).
    private var shortageLoggedAt: UInt64 = 0
    /// The timer that ends the current shortage pause.
    private var shortageTimer: TimerID?

    /// Sessions held for a route (failover) in arrival order.
    var held: [Session] = []
    /// Sessions queued because every candidate server is at `server_maxconn`.
    var queued: [Session] = []

    /// This loop's counters for the listener.
    var counters = ListenerCounters()
    /// How long this loop's held connections waited, from accept to connect, hold timeout or hang-up.
    var holdWaits = LatencyHistogram(bounds: LatencyHistogram.holdWaitBounds)

    init(configuration: ListenerConfiguration, route: ListenerRoute, shared: ListenerShared, worker: Worker) {
        self.name = configuration.name
        self.configuration = configuration
        self.route = route
        self.shared = shared
        self.worker = worker
        cancelGroup = configuration.role == .static ? worker.cancelTable.group(forStatic: configuration.name) : .cluster
        // Each loop starts its rotation elsewhere, so the first sessions of a new proxy spread out.
        selector = BackendSelector(balance: configuration.balance, cursor: worker.loop.index)
    }

    /// Starts accepting on `fd` (owned from now on by this listener).
    func open(fd: Int32) throws(IOError) {
        self.fd = fd
        do {
            registration = try worker.loop.register(fd, events: [.readable], handler: self)
        } catch {
            self.fd = nil  // the caller closes it; this listener must never touch that number again
            throw error
        }
    }

    /// Sets TCP_NODELAY and keepalive (or turns it off) on a listening socket: Linux copies them to
    /// every accepted socket, which saves five setsockopt calls per connection. The proxy calls it
    /// before the socket listens (``Socket/listen(on:backlog:reusePort:configure:)``), so no session
    /// is accepted without them.
    static func setSocketOptions(_ fd: Int32, keepalive: TCPKeepalive?) throws(IOError) {
        try Socket.setNoDelay(fd)
        if let options = keepalive?.kernelOptions {
            try Socket.setKeepalive(fd, idle: options.idle, interval: options.interval, count: options.count)
        } else {
            try Socket.setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 0)
        }
    }

    /// Applies a reload's keepalive to this loop's listening socket (sessions accepted later get it).
    func applySocketOptions(_ keepalive: TCPKeepalive?) {
        guard let fd else { return }
        do {
            try Self.setSocketOptions(fd, keepalive: keepalive)
        } catch {
            worker.logger.warning("listener \(name): cannot set socket options: \(error)", metadata: ["listener": "\(name)"])
        }
    }

    /// Stops accepting and closes the socket; live sessions are not touched.
    func close() {
        guard let fd else { return }
        if let registration { worker.loop.deregister(fd, registration) }
        registration = nil
        if let shortageTimer { worker.loop.cancel(shortageTimer) }
        shortageTimer = nil
        Socket.close(fd)
        self.fd = nil
        if paused {
            paused = false
            worker.shared.pausedListeners.subtract(1, ordering: .relaxed)
        }
    }

    /// Closes the socket for good (listener removed by a reload or the proxy stopping).
    func retire() {
        retired = true
        close()
    }

    func handleEvents(_ events: EpollEvents, token: UInt32) {
        acceptBatch()
    }

    /// Accepts up to a batch of connections (level-triggered: the rest wait for the next turn).
    private func acceptBatch() {
        guard let fd, !paused else { return }
        for _ in 0..<64 {
            guard worker.shared.acquireSession() else {
                pause()
                return
            }
            guard shared.acquire(limit: configuration.maxconn) else {
                worker.shared.releaseSession()
                pause()
                return
            }
            do {
                switch try acceptCall(fd) {
                case .wouldBlock:
                    shortageFailures = 0
                    shared.release()
                    worker.shared.releaseSession()
                    return
                case .processed(let accepted):
                    shortageFailures = 0
                    worker.startSession(on: self, fd: accepted.fd, peer: accepted.peer)
                }
            } catch {
                shared.release()
                worker.shared.releaseSession()
                if error.isDescriptorExhaustion || error.errno == ENOBUFS || error.errno == ENOMEM {
                    pauseForShortage(error)
                }
                // ECONNABORTED and friends: the client left before accept; nothing to do.
                return
            }
        }
    }

    /// Out of descriptors or kernel memory: the connection stays in the backlog, so the
    /// level-triggered socket stays readable and retrying at once would spin the loop. Pauses for
    /// 100 ms, doubling up to 1 s while the shortage lasts; a session of this loop ending resumes
    /// earlier. Logs once per shortage, not once per retry, and at most once a minute: at the limit,
    /// every session that ends lets one accept succeed before the next fails, which would otherwise
    /// start a "new" shortage each time.
    private func pauseForShortage(_ error: IOError) {
        let now = worker.loop.now
        if shortageFailures == 0 && (shortageLoggedAt == 0 || now &- shortageLoggedAt >= Self.shortageLogInterval) {
            shortageLoggedAt = now
            worker.logger.warning("listener \(name): accept failed (\(error.message)); pausing accept, retrying with backoff",
                                  metadata: ["listener": "\(name)"])
        }
        let delay = Duration.milliseconds(min(100 << min(shortageFailures, 4), 1000))
        shortageFailures += 1
        pause(recheckLimits: false)
        if let shortageTimer { worker.loop.cancel(shortageTimer) }
        shortageTimer = worker.loop.schedule(after: delay) { [weak self] in
            self?.shortageTimer = nil
            self?.resume()
        }
    }

    /// The least time between two shortage warnings of one listening socket.
    static let shortageLogInterval: UInt64 = 60_000_000_000

    /// Deregisters the socket from epoll so a reached limit (or a shortage) costs no wakeups.
    /// `recheckLimits`: the pause is for a session limit, which a session ending elsewhere may
    /// have lifted already.
    private func pause(recheckLimits: Bool = true) {
        guard !paused, let fd, let registration else { return }
        paused = true
        worker.shared.pausedListeners.add(1, ordering: .relaxed)
        try? worker.loop.modify(fd, registration, events: [])
        guard recheckLimits else { return }
        // A session may have ended elsewhere between the failed acquire and the count above, and
        // seen no paused listener to wake: check once more now that the pause is visible.
        if worker.shared.acquireSession() {
            let fits = shared.acquire(limit: configuration.maxconn)
            if fits { shared.release() }
            worker.shared.releaseSession()
            if fits { resume() }
        }
    }

    /// Re-enables accepting if it was paused.
    func resume() {
        guard paused, let fd, let registration else { return }
        paused = false
        worker.shared.pausedListeners.subtract(1, ordering: .relaxed)
        try? worker.loop.modify(fd, registration, events: [.readable])
    }
}

/// One loop's counters for one listener (summed over loops at render time).
public struct ListenerCounters: Sendable, Equatable {
    /// Sessions accepted.
    public var sessionsTotal: UInt64 = 0
    /// Bytes client → server.
    public var bytesIn: UInt64 = 0
    /// Bytes server → client.
    public var bytesOut: UInt64 = 0
    /// Failed connects to servers.
    public var connectErrors: UInt64 = 0
    /// Connects retried on another server (or after the topology moved).
    public var retries: UInt64 = 0
    /// Sessions ended without a server (unavailable route, hold or queue timeout).
    public var noBackend: UInt64 = 0
    /// Sessions closed because their server left the route.
    public var closedByRouteChange: UInt64 = 0
    /// Sessions still connecting or starting up when their server left the route: sent on to the
    /// new route (or its hold) instead of being closed.
    public var movedByRouteChange: UInt64 = 0
    /// Start-ups whose `application_name` got the client's address (`client_address: application_name`).
    public var clientAddressTagged: UInt64 = 0
    /// Start-ups that `client_address: application_name` could not tag: encrypted (TLS, GSSAPI).
    public var clientAddressUntaggedEncrypted: UInt64 = 0
    /// Sessions that waited in a hold during a failover.
    public var heldTotal: UInt64 = 0
    /// PostgreSQL start-ups replayed to another node after a 57P03 (also counted in `retries`).
    public var startupRetries: UInt64 = 0
    /// PostgreSQL cancel requests forwarded (to their node, or broadcast).
    public var cancelRequestsForwarded: UInt64 = 0
    /// Of those, the ones whose key was unknown (TLS session, or ended): sent to every node.
    public var cancelRequestsBroadcast: UInt64 = 0

    public init() {}

    mutating func add(_ other: ListenerCounters) {
        sessionsTotal += other.sessionsTotal
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        connectErrors += other.connectErrors
        retries += other.retries
        noBackend += other.noBackend
        closedByRouteChange += other.closedByRouteChange
        movedByRouteChange += other.movedByRouteChange
        clientAddressTagged += other.clientAddressTagged
        clientAddressUntaggedEncrypted += other.clientAddressUntaggedEncrypted
        heldTotal += other.heldTotal
        startupRetries += other.startupRetries
        cancelRequestsForwarded += other.cancelRequestsForwarded
        cancelRequestsBroadcast += other.cancelRequestsBroadcast
    }
}
