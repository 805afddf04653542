import Logging
import PosixIO
import Reactor
import SwitchmanCore

/// The proxy's state on one event loop: its listeners and their sessions, the pools their pumps
/// borrow from, the name cache, and the session log lines. Choosing servers (``ServerSlots``),
/// waiting for one (``WaitingRoom``) and routing cancel requests (``CancelRouter``) have types of
/// their own. Every method runs on `loop`'s thread (the runtime posts work to it).
final class Worker: @unchecked Sendable {
    // @unchecked: confined to `loop`'s thread; other threads only post closures to it.

    let loop: EventLoop
    let shared: SharedCounters
    let logger: Logger
    let sessionLog: SessionLog?
    let resolver: AddressResolver
    /// Server choice and `server_maxconn` slots.
    let slots: ServerSlots
    /// Sessions held for a route or queued for a slot.
    let waitingRoom: WaitingRoom
    /// Cancel requests to their nodes (set in init: it refers back to the worker).
    private(set) var cancelRouter: CancelRouter!
    private(set) var configuration: ProxyConfiguration
    /// The current timeouts, boxed once per configuration and shared by the sessions it starts.
    private(set) var timeoutSettings: TimeoutSettings
    private(set) var pools: PumpPools
    /// Pools a reload replaced, for the stats, for as long as a session started under them lives
    /// (held weakly: those sessions own them, and may borrow from them again).
    private var retiredPools: [WeakPools] = []
    private var addressCache: AddressCache
    private var nextSessionID: UInt64
    private(set) var listeners: [String: ListenerRuntime] = [:]
    /// This loop's live sessions, each knowing its place (``Session/placeInWorker``): adding and
    /// removing one is an append and a swap, where a dictionary keyed by id hashed it twice.
    private var sessions: [Session] = []
    private var draining = false
    /// The last route published for each listener name (also names this loop has no listener for yet).
    private var latestRoutes: [String: ListenerRoute] = [:]
    private var drainCompletion: (@Sendable () -> Void)?
    /// How waits on primary listeners ended since the stats last took them (the failover ledger).
    var waitSamples = WaitSampleBuffer()
    /// Most sessions this loop held at once since its free memory was last handed back.
    private var sessionsPeak = 0
    /// The pending hand-back of free memory after a burst of sessions ended.
    private var memoryReleaseTimer: TimerID?

    init(loop: EventLoop, configuration: ProxyConfiguration, shared: SharedCounters, resolver: AddressResolver,
         logger: Logger, sessionLog: SessionLog?, cancelTable: CancelTable = CancelTable()) {
        self.loop = loop
        self.configuration = configuration
        self.shared = shared
        self.resolver = resolver
        slots = ServerSlots(shared: shared)
        waitingRoom = WaitingRoom(loop: loop, shared: shared, cluster: configuration.cluster)
        self.logger = logger
        self.sessionLog = sessionLog
        timeoutSettings = TimeoutSettings(configuration.timeouts, keepalive: configuration.tcpKeepalive)
        pools = PumpPools(
            buffers: BufferPool(bufferSize: configuration.bufferSize, keep: 256),
            pipes: PipePool(pipeSize: configuration.pipeSize, limit: configuration.pipePoolSize))
        addressCache = AddressCache(ttlNanoseconds: configuration.resolveTTL.nanoseconds)
        // Session ids are unique across loops: the loop index sits in the top byte.
        nextSessionID = UInt64(loop.index) << 56
        cancelRouter = CancelRouter(worker: self, table: cancelTable)
    }

    /// Cancel keys → nodes, shared by every loop.
    var cancelTable: CancelTable { cancelRouter.table }

    // MARK: - Listeners

    /// Adds a listener with its socket for this loop.
    func addListener(_ configuration: ListenerConfiguration, route: ListenerRoute, fd: Int32) {
        let listener = ListenerRuntime(
            configuration: configuration, route: route, shared: shared.listener(configuration.name), worker: self)
        // A route published after the caller read `route` (a failover racing a reload) is newer.
        if let newer = latestRoutes[configuration.name] { listener.route = newer }
        listeners[configuration.name] = listener
        do {
            try listener.open(fd: fd)
        } catch {
            logger.error("listener \(configuration.name): cannot register: \(error)")
            listeners[configuration.name] = nil
            Socket.close(fd)
        }
    }

    /// Closes a listener's socket; its sessions go on until they end (drain).
    func removeListener(_ name: String) {
        guard let listener = listeners.removeValue(forKey: name) else { return }
        listener.retire()
        // Sessions still waiting for a server have nothing to drain: refuse them now.
        waitingRoom.endAll(of: listener)
    }

    /// Applies a reloaded configuration: new sessions use the new values, live ones keep theirs.
    func apply(_ configuration: ProxyConfiguration) {
        self.configuration = configuration
        waitingRoom.apply(configuration.cluster)
        if configuration.timeouts != timeoutSettings.value || configuration.tcpKeepalive != timeoutSettings.keepalive {
            timeoutSettings = TimeoutSettings(configuration.timeouts, keepalive: configuration.tcpKeepalive)
        }
        addressCache.ttlNanoseconds = configuration.resolveTTL.nanoseconds
        if configuration.bufferSize != pools.buffers.bufferSize || configuration.pipeSize != pools.pipes.pipeSize
            || configuration.pipePoolSize != pools.pipes.limit {
            // Live sessions keep the pools they started with, so old buffers return to old pools.
            pools.retire()
            retiredPools.append(WeakPools(pools: pools))
            pools = PumpPools(
                buffers: BufferPool(bufferSize: configuration.bufferSize, keep: 256),
                pipes: PipePool(pipeSize: configuration.pipeSize, limit: configuration.pipePoolSize))
        }
        for listenerConfiguration in configuration.listeners {
            listeners[listenerConfiguration.name]?.configuration = listenerConfiguration
            listeners[listenerConfiguration.name]?.applySocketOptions(configuration.tcpKeepalive)
        }
        // A removed listener's route no longer keeps its servers' slots cached (the next route
        // update forgets them); its draining sessions hold their own.
        let configured = Set(configuration.listeners.map(\.name))
        latestRoutes = latestRoutes.filter { configured.contains($0.key) }
    }

    /// Installs new routes; wakes held sessions of routes that became ready; closes sessions whose
    /// server left a route that closes stale sessions.
    /// Returns how many sessions were closed.
    @discardableResult
    func updateRoutes(_ routes: [String: ListenerRoute]) -> Int {
        var closed = 0
        for (name, route) in routes { latestRoutes[name] = route }
        // Each leader term is a new RouteServer: forget those no route names any more (sessions
        // keep their own reference to the counter they hold).
        let routed = Set(latestRoutes.values.flatMap { $0.servers + $0.draining })
        slots.forgetServers(notIn: routed)
        // Listeners removed or rebound by a reload still own draining sessions: they follow the routes
        // of their name too, so no session outlives its leader's term.
        var retired: [ObjectIdentifier: ListenerRuntime] = [:]
        for session in sessions where session.listener.retired {
            retired[ObjectIdentifier(session.listener)] = session.listener
        }
        for old in retired.values {
            guard let route = routes[old.name] else { continue }
            old.route = route
            // Its sessions that wait (moved by an earlier route change, or retrying) follow too.
            if case .hold = route.state {} else { waitingRoom.releaseHeld(of: old) }
        }
        for (name, route) in routes {
            guard let listener = listeners[name] else { continue }
            listener.route = route
            if route.closesStaleSessions {
                let current = Set(route.servers + route.draining)
                // Server name → sessions closed, for one log line each: a close is never silent.
                var closedPerServer: [String: Int] = [:]
                // A refusing session is ending already (it may be telling its client why); an ended one is gone.
                for session in sessions where session.listener.name == name && session.state != .refusing && session.state != .closed {
                    if let server = session.server, !current.contains(server) {
                        if session.movableOnRouteChange {
                            listener.counters.movedByRouteChange += 1
                            session.followRouteChange()
                            continue
                        }
                        listener.counters.closedByRouteChange += 1
                        closed += 1
                        closedPerServer[server.name, default: 0] += 1
                        session.end(.routeChanged("\(server.name) left the \(listener.configuration.role) route"))
                    }
                }
                for (server, count) in closedPerServer.sorted(by: { $0.key < $1.key }) {
                    logger.notice(
                        "route change closed \(count) session(s) to \(server): it left the \(listener.configuration.role) route",
                        metadata: ["listener": "\(name)", "backend": "\(server)", "sessions": "\(count)", "loop": "\(loop.index)"])
                }
            }
            switch route.state {
            case .ready, .unavailable:
                waitingRoom.releaseHeld(of: listener)
            case .hold:
                break
            }
        }
        return closed
    }

    /// Ends this loop's sessions whose server is cluster member `member` (an operator's
    /// `shutdown-sessions`), whatever listener they came through; returns how many.
    func shutdownSessions(ofMember member: String, detail: String) -> Int {
        let targets = sessions.filter {
            $0.server?.name == member && $0.listener.configuration.role != .static && $0.state != .refusing
        }
        for session in targets { session.end(.operatorShutdown(detail)) }
        return targets.count
    }

    // MARK: - Sessions

    func startSession(on listener: ListenerRuntime, fd: Int32, peer: SocketAddress?) {
        nextSessionID &+= 1
        let session = Session(id: nextSessionID, worker: self, listener: listener, clientFD: fd, peer: peer)
        session.placeInWorker = Int32(sessions.count)
        sessions.append(session)
        if sessions.count > sessionsPeak { sessionsPeak = sessions.count }
        listener.counters.sessionsTotal += 1
        session.start()
    }

    /// A session's connect completed: count it for its server.
    func connected(_ session: Session) {
        guard let tally = session.slot?.tally else { return }
        tally.counters.sessionsTotal += 1
        // Cached on the session so counting bytes costs no key building or hashing.
        session.serverTally = tally
    }

    /// Looks `endpoint` up (cache first, then the resolver thread) and calls back on this loop.
    func resolve(_ endpoint: Endpoint, _ completion: @escaping (Result<[SocketAddress], ResolutionError>) -> Void) {
        if let literal = SocketAddress(literal: endpoint.host, port: endpoint.port) {
            completion(.success([literal]))
            return
        }
        if let cached = addressCache.lookup(endpoint, now: loop.now) {
            completion(.success(cached))
            return
        }
        let box = CompletionBox(completion)
        resolver.resolve(host: endpoint.host, port: endpoint.port, on: loop) { [self] result in
            if case .success(let addresses) = result { self.addressCache.store(endpoint, addresses, now: self.loop.now) }
            box.completion(result)
        }
    }

    func forgetAddress(_ endpoint: Endpoint) { addressCache.forget(endpoint) }

    /// A start-up was refused by `server` (57P03, or a close before any answer) and is replayed elsewhere.
    func startupReplayed(_ session: Session, server: RouteServer, reason: String) {
        session.listener.counters.retries += 1
        session.listener.counters.startupRetries += 1
        logger.info(
            "start-up replayed on another node: \(reason)",
            metadata: ["listener": "\(session.listener.name)", "session": "\(session.id)", "backend": "\(server.name)"])
    }

    func connectFailed(_ session: Session, server: RouteServer, error: String) {
        session.listener.counters.connectErrors += 1
        session.listener.counters.retries += 1
        slots.tally(for: server).counters.connectErrors += 1
        logger.warning(
            "connect to \(server.name) (\(server.endpoint)) failed: \(error)",
            metadata: ["listener": "\(session.listener.name)", "session": "\(session.label)", "backend": "\(server.name)"])
    }

    func countBytes(_ session: Session, toServer: Int, toClient: Int) {
        session.listener.counters.bytesIn &+= UInt64(toServer)
        session.listener.counters.bytesOut &+= UInt64(toClient)
        if let slot = session.slot {
            // The ledger's first byte to a new leader is set once per term; the last reply is one store.
            if toServer > 0 && slot.traffic.firstByteToServer == 0 { slot.traffic.firstByteToServer = loop.now }
            if toClient > 0 { slot.traffic.lastByteToClient = loop.now }
        }
        if let tally = session.serverTally {
            tally.counters.bytesIn &+= UInt64(toServer)
            tally.counters.bytesOut &+= UInt64(toClient)
        }
    }

    /// Bookkeeping when a session ends: counters, waiting lists, the log line, and the slots it frees.
    func sessionEnded(_ session: Session, reason: SessionEnd, wasEstablished: Bool) {
        forget(session)
        let listener = session.listener
        waitingRoom.leave(session)
        cancelRouter.sessionEnded(session.id)
        if case .noBackend = reason {
            listener.counters.noBackend += 1
            let timedOut = session.lastWait == .hold && session.waitDeadline != 0 && loop.now >= session.waitDeadline
            waitEnded(session, kind: timedOut ? .timedOut : .refused)
        } else if case .clientClosed = reason, session.lastWait == .hold && session.waitDeadline != 0 && !wasEstablished {
            // Ended while held (a connect resets the deadline): the client gave up first.
            waitEnded(session, kind: .abandoned)
        }
        listener.shared.release()
        shared.releaseSession()
        if let sessionLog, configuration.logSessions { sessionLog.append(SessionLogLine.render(session, reason: reason, format: sessionLog.format, now: loop.now)) }
        slotFreed(listener: listener)
        if draining && sessions.isEmpty { finishDrain() }
        releaseMemoryAfterBurst()
    }

    /// Takes an ending session out of ``sessions``: the last one moves into its place.
    private func forget(_ session: Session) {
        let place = Int(session.placeInWorker)
        guard place >= 0, place < sessions.count, sessions[place] === session else { return }
        let last = sessions.removeLast()
        if last !== session {
            sessions[place] = last
            last.placeInWorker = Int32(place)
        }
        session.placeInWorker = -1
    }

    /// Sessions of a burst freed their memory inside the allocator's heaps, where it stays resident
    /// (glibc returns only the top of the main heap): 8,000 sessions ending left ~5 MB. Once a loop
    /// that held at least ``burstSessions`` is down to a quarter of its peak, the free pages go back
    /// to the kernel a second later (one call, off the per-session path).
    private func releaseMemoryAfterBurst() {
        guard sessionsPeak >= Self.burstSessions, sessions.count <= sessionsPeak / 4, memoryReleaseTimer == nil else { return }
        memoryReleaseTimer = loop.schedule(after: .seconds(1)) { [weak self] in
            guard let self else { return }
            self.memoryReleaseTimer = nil
            self.sessionsPeak = self.sessions.count
            FreeMemory.release()
        }
    }

    /// Sessions a loop must have held at once for their end to count as a burst.
    static let burstSessions = 1024

    /// A session ended: a queued session may take its server slot, a paused listener may accept again.
    private func slotFreed(listener: ListenerRuntime) {
        if !listener.queued.isEmpty { waitingRoom.retryQueued(of: listener) }
        for other in listeners.values where other.paused { other.resume() }
        if shared.pausedListeners.load(ordering: .relaxed) > 0 || listener.shared.queued.load(ordering: .relaxed) > 0 {
            onSlotFreedElsewhere?(listener.name)
        }
    }

    /// Set by the runtime: tells the other loops that a slot was freed here.
    var onSlotFreedElsewhere: ((String) -> Void)?

    /// A slot was freed on another loop.
    func slotFreedElsewhere(listenerName: String) {
        if let listener = listeners[listenerName], !listener.queued.isEmpty { waitingRoom.retryQueued(of: listener) }
        for other in listeners.values where other.paused { other.resume() }
    }

    // MARK: - Shutdown

    /// Stops accepting; calls `completion` (on this loop) once every session ended, cutting the
    /// remaining ones at `deadline`.
    func drain(within grace: Duration, completion: @escaping @Sendable () -> Void) {
        draining = true
        drainCompletion = completion
        for listener in listeners.values { listener.retire() }
        for listener in listeners.values { waitingRoom.endAll(of: listener) }
        if sessions.isEmpty {
            finishDrain()
            return
        }
        loop.schedule(after: grace) { [weak self] in
            guard let self else { return }
            for session in self.sessions { session.end(.shutdown) }
        }
    }

    private func finishDrain() {
        guard let completion = drainCompletion else { return }
        drainCompletion = nil
        completion()
    }

    /// Sessions open on this loop.
    var sessionCount: Int { sessions.count }

    // MARK: - Stats

    /// This loop's counters, for the runtime to sum.
    func statistics(drainingWaits: Bool = false) -> WorkerStatistics {
        var perListener: [String: ListenerCounters] = [:]
        var heldNow: [String: Int] = [:]
        var queuedNow: [String: Int] = [:]
        var holdWaits: [String: LatencyHistogram] = [:]
        for (name, listener) in listeners {
            perListener[name] = listener.counters
            heldNow[name] = listener.held.count
            queuedNow[name] = listener.queued.count
            holdWaits[name] = listener.holdWaits
        }
        let waits: (samples: [WaitSample], dropped: Int) = drainingWaits ? waitSamples.drain() : ([], 0)
        retiredPools.removeAll { $0.pools == nil }
        let lenders = [pools] + retiredPools.compactMap(\.pools)
        return WorkerStatistics(
            listeners: perListener, held: heldNow, queued: queuedNow, servers: slots.tallies.mapValues(\.counters),
            sessions: sessions.count, buffersInUse: lenders.reduce(0) { $0 + $1.buffers.inUse },
            pipesInUse: lenders.reduce(0) { $0 + $1.pipes.inUse }, pipeDenials: pools.pipes.denials,
            routeServersCached: slots.cachedServers, holdWaits: holdWaits, generations: slots.generationTimes,
            waitSamples: waits.samples, waitSamplesDropped: waits.dropped)
    }

}

/// A replaced pool set, held without keeping it alive.
private struct WeakPools {
    weak var pools: PumpPools?
}

/// Timeouts and `tcp_keepalive` in a box sessions share (a session keeps the box in force when it
/// started, as it keeps its pools), with what a session reads per connection already converted:
/// deadlines in nanoseconds, keepalive in the kernel's seconds (converting a Duration costs 128-bit
/// arithmetic, several times per connection).
final class TimeoutSettings {
    let value: Timeouts
    let keepalive: TCPKeepalive?
    let connect: UInt64
    let clientIdle: UInt64
    let serverIdle: UInt64
    let queue: UInt64
    let startupAnswer: UInt64
    /// `tcp_keepalive` for a server socket, in seconds (TCP_KEEPIDLE, TCP_KEEPINTVL) and probes.
    let serverKeepalive: (idle: Int32, interval: Int32, count: Int32)?
    /// TCP_KEEPIDLE in nanoseconds: how long after its connect a server socket may get its keepalive
    /// with the first probe still due when it would have been (0 with keepalive off).
    let serverKeepaliveLatest: UInt64

    init(_ value: Timeouts, keepalive: TCPKeepalive?) {
        self.value = value
        self.keepalive = keepalive
        connect = value.connect.nanoseconds
        clientIdle = value.clientIdle.nanoseconds
        serverIdle = value.serverIdle.nanoseconds
        queue = value.queue.nanoseconds
        startupAnswer = value.startupAnswer.nanoseconds
        serverKeepalive = keepalive?.kernelOptions
        serverKeepaliveLatest = UInt64(serverKeepalive?.idle ?? 0) * 1_000_000_000
    }
}

extension TCPKeepalive {
    /// The options as setsockopt takes them: whole seconds (at least 1) and a probe count.
    var kernelOptions: (idle: Int32, interval: Int32, count: Int32) {
        (Int32(max(1, idle.components.seconds)), Int32(max(1, interval.components.seconds)), Int32(count))
    }
}

/// One loop's counters for one server.
public struct ServerCounters: Sendable, Equatable {
    /// Sessions connected.
    public var sessionsTotal: UInt64 = 0
    /// Bytes to the server.
    public var bytesIn: UInt64 = 0
    /// Bytes from the server.
    public var bytesOut: UInt64 = 0
    /// Failed connects.
    public var connectErrors: UInt64 = 0

    public init() {}

    mutating func add(_ other: ServerCounters) {
        sessionsTotal += other.sessionsTotal
        bytesIn += other.bytesIn
        bytesOut += other.bytesOut
        connectErrors += other.connectErrors
    }
}

/// One loop's share of the runtime statistics.
struct WorkerStatistics: Sendable {
    var listeners: [String: ListenerCounters]
    var held: [String: Int]
    var queued: [String: Int]
    var servers: [ServerKey: ServerCounters]
    var sessions: Int
    var buffersInUse: Int
    var pipesInUse: Int
    var pipeDenials: Int
    /// Entries of the loop's route-server → counter cache.
    var routeServersCached: Int
    var holdWaits: [String: LatencyHistogram]
    var generations: [UInt64: GenerationTimes]
    var waitSamples: [WaitSample]
    var waitSamplesDropped: Int
}

/// Carries a loop-confined completion through the resolver's @Sendable hop and back to the same loop.
private final class CompletionBox: @unchecked Sendable {
    // @unchecked: created and called on the same loop thread; the resolver only passes it along.
    let completion: (Result<[SocketAddress], ResolutionError>) -> Void
    init(_ completion: @escaping (Result<[SocketAddress], ResolutionError>) -> Void) { self.completion = completion }
}
