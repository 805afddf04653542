import Logging
import PosixIO
import Reactor
import SwitchmanCore

/// The proxy's state on one event loop: its listeners' sockets, its sessions, pools, address cache
/// and counters. Every method runs on `loop`'s thread (the runtime posts work to it).
final class Worker: @unchecked Sendable {
    // @unchecked: confined to `loop`'s thread; other threads only post closures to it.

    let loop: EventLoop
    let shared: SharedCounters
    let logger: Logger
    let sessionLog: SessionLog?
    let resolver: AddressResolver
    /// Cancel keys → nodes, shared by every loop.
    let cancelTable: CancelTable
    private(set) var configuration: ProxyConfiguration
    /// The current timeouts, boxed once per configuration and shared by the sessions it starts.
    private(set) var timeoutSettings: TimeoutSettings
    private(set) var pools: PumpPools
    /// Pools a reload replaced while pumps still held their buffers or pipes; dropped once all came back.
    private var retiredPools: [PumpPools] = []
    private var addressCache: AddressCache
    private var nextSessionID: UInt64
    private(set) var listeners: [String: ListenerRuntime] = [:]
    private var sessions: [UInt64: Session] = [:]
    /// Per-server counters of this loop, by server key.
    private var serverTallies: [ServerKey: ServerTally] = [:]
    /// Cross-loop counters by route server, so choosing a server builds no String key after the first time.
    private var serverShared: [RouteServer: ServerShared] = [:]
    private var draining = false
    /// The last route published for each listener name (also names this loop has no listener for yet).
    private var latestRoutes: [String: ListenerRoute] = [:]
    private var drainCompletion: (@Sendable () -> Void)?
    /// Cancel requests being forwarded, by the id of the session that carries them.
    private var cancelForwarders: [UInt64: CancelForwarder] = [:]

    init(loop: EventLoop, configuration: ProxyConfiguration, shared: SharedCounters, resolver: AddressResolver,
         logger: Logger, sessionLog: SessionLog?, cancelTable: CancelTable = CancelTable()) {
        self.loop = loop
        self.configuration = configuration
        self.shared = shared
        self.resolver = resolver
        self.cancelTable = cancelTable
        self.logger = logger
        self.sessionLog = sessionLog
        timeoutSettings = TimeoutSettings(configuration.timeouts)
        pools = PumpPools(
            buffers: BufferPool(bufferSize: configuration.bufferSize, keep: 256),
            pipes: PipePool(pipeSize: configuration.pipeSize, limit: configuration.pipePoolSize))
        addressCache = AddressCache(ttlNanoseconds: configuration.resolveTTL.nanoseconds)
        // Session ids are unique across loops: the loop index sits in the top byte.
        nextSessionID = UInt64(loop.index) << 56
    }

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
        for session in listener.held + listener.queued { session.end(.shutdown) }
    }

    /// Applies a reloaded configuration: new sessions use the new values, live ones keep theirs.
    func apply(_ configuration: ProxyConfiguration) {
        self.configuration = configuration
        if configuration.timeouts != timeoutSettings.value { timeoutSettings = TimeoutSettings(configuration.timeouts) }
        addressCache.ttlNanoseconds = configuration.resolveTTL.nanoseconds
        if configuration.bufferSize != pools.buffers.bufferSize || configuration.pipeSize != pools.pipes.pipeSize
            || configuration.pipePoolSize != pools.pipes.limit {
            // Pumps keep a reference to the pools they borrowed from, so old buffers return to old pools.
            if pools.lentOut { retiredPools.append(pools) }
            pools = PumpPools(
                buffers: BufferPool(bufferSize: configuration.bufferSize, keep: 256),
                pipes: PipePool(pipeSize: configuration.pipeSize, limit: configuration.pipePoolSize))
        }
        for listenerConfiguration in configuration.listeners {
            listeners[listenerConfiguration.name]?.configuration = listenerConfiguration
            listeners[listenerConfiguration.name]?.applySocketOptions(configuration.tcpKeepalive)
        }
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
        let routed = Set(latestRoutes.values.flatMap(\.servers))
        serverShared = serverShared.filter { routed.contains($0.key) }
        // Listeners removed or rebound by a reload still own draining sessions: they follow the routes
        // of their name too, so no session outlives its leader's term.
        var retired: [ObjectIdentifier: ListenerRuntime] = [:]
        for session in sessions.values where session.listener.retired {
            retired[ObjectIdentifier(session.listener)] = session.listener
        }
        for old in retired.values { if let route = routes[old.name] { old.route = route } }
        for (name, route) in routes {
            guard let listener = listeners[name] else { continue }
            listener.route = route
            if route.closesStaleSessions {
                let current = Set(route.servers)
                for session in sessions.values where session.listener.name == name {
                    if let server = session.server, !current.contains(server) {
                        if session.movableOnRouteChange {
                            listener.counters.movedByRouteChange += 1
                            session.followRouteChange()
                            continue
                        }
                        listener.counters.closedByRouteChange += 1
                        closed += 1
                        session.end(.routeChanged("\(server.name) left the \(listener.configuration.role) route"))
                    }
                }
            }
            switch route.state {
            case .ready, .unavailable:
                let waiting = listener.held
                listener.held.removeAll()
                for session in waiting {
                    shared.held.subtract(1, ordering: .relaxed)
                    session.resume()
                }
            case .hold:
                break
            }
        }
        return closed
    }

    // MARK: - Sessions

    func startSession(on listener: ListenerRuntime, fd: Int32, peer: SocketAddress?) {
        nextSessionID &+= 1
        let session = Session(id: nextSessionID, worker: self, listener: listener, clientFD: fd, peer: peer)
        sessions[session.id] = session
        listener.counters.sessionsTotal += 1
        session.start()
    }

    /// Chooses a server for a session, honouring `server_maxconn` (the slot is taken here, atomically,
    /// since another loop may take the last one between the choice and the connect).
    func select(for listener: ListenerRuntime, excluding tried: Set<String>) -> Selection {
        let candidates = listener.route.servers
        var skipped = Set(candidates.filter { tried.contains($0.name) })
        var lostRaces = false
        for _ in 0...candidates.count {
            let choice = listener.selector.pick(
                from: candidates, sessions: { self.counter(for: $0).current.load(ordering: .relaxed) },
                limit: listener.configuration.serverMaxconn, tried: skipped)
            switch choice {
            case .server(let server):
                let counter = counter(for: server)
                if counter.tryAcquire(limit: listener.configuration.serverMaxconn) { return .server(server, counter) }
                skipped.insert(server)  // another loop took its last slot meanwhile
                lostRaces = true
            case .allBusy:
                return .allBusy
            case .exhausted:
                return lostRaces ? .allBusy : .exhausted
            }
        }
        return .allBusy
    }

    private func counter(for server: RouteServer) -> ServerShared {
        if let existing = serverShared[server] { return existing }
        let counter = shared.server(server.key)
        serverShared[server] = counter
        return counter
    }

    /// Puts a session on hold until the listener's route changes (at most `cluster.hold_max` at once,
    /// at most `cluster.hold_timeout` long).
    func hold(_ session: Session, reason: String) {
        session.lastWait = .hold
        let holdMax = configuration.cluster?.holdMax ?? 1000
        if shared.held.add(1, ordering: .relaxed).newValue > holdMax {
            shared.held.subtract(1, ordering: .relaxed)
            session.end(.noBackend("\(reason); hold queue full (\(holdMax))"))
            return
        }
        let timeout = configuration.cluster?.holdTimeout ?? .seconds(30)
        if session.waitDeadline == 0 {
            session.waitDeadline = loop.now &+ timeout.nanoseconds
            session.listener.counters.heldTotal += 1
        }
        session.waitReason = "\(reason), held \(timeout.humanReadable)"
        session.listener.held.append(session)
        session.armTimer(session.waitDeadline)
    }

    /// Queues a session until a server of its listener has a free slot (up to `timeouts.queue`).
    func enqueue(_ session: Session) {
        let listener = session.listener
        session.lastWait = .queue
        if listener.queued.count >= listener.configuration.queueMax {
            session.end(.noBackend("every server of \(listener.name) is at server_maxconn and the queue is full"))
            return
        }
        listener.queued.append(session)
        listener.shared.queued.add(1, ordering: .relaxed)
        if session.waitDeadline == 0 { session.waitDeadline = loop.now &+ session.timeouts.queue.nanoseconds }
        session.waitReason = "every server of \(listener.name) is at server_maxconn (queued \(session.timeouts.queue.humanReadable))"
        session.armTimer(session.waitDeadline)
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

    func connected(_ session: Session) {
        guard let server = session.server else { return }
        let tally = tally(for: server)
        tally.counters.sessionsTotal += 1
        // Cached on the session so counting bytes costs no key building or hashing.
        session.serverTally = tally
    }

    private func tally(for server: RouteServer) -> ServerTally {
        let key = server.key
        if let existing = serverTallies[key] { return existing }
        let fresh = ServerTally()
        serverTallies[key] = fresh
        return fresh
    }

    /// A start-up was refused by `server` (57P03, or a close before any answer) and is replayed elsewhere.
    func startupReplayed(_ session: Session, server: RouteServer, reason: String) {
        session.listener.counters.retries += 1
        session.listener.counters.startupRetries += 1
        logger.info(
            "start-up replayed on another node: \(reason)",
            metadata: ["listener": "\(session.listener.name)", "session": "\(session.id)", "backend": "\(server.name)"])
    }

    /// Forwards a CancelRequest: to the node of its key when known, else to every node that may
    /// serve the session (see ``cancelTargets(for:)``). The session ends once the nodes closed
    /// their side (or the connect timeout passed).
    func forwardCancel(for session: Session, key: CancelKey, packet: [UInt8]) {
        let listener = session.listener
        let targets: [CancelForwarder.Target]
        let detail: String
        if let entry = cancelTable.lookup(key) {
            targets = [.address(entry.address)]
            detail = "to \(entry.server)"
        } else {
            targets = cancelTargets(for: listener)
            detail = "key unknown, broadcast to \(targets.count) node(s)"
            listener.counters.cancelRequestsBroadcast += 1
        }
        listener.counters.cancelRequestsForwarded += 1
        let sessionID = session.id
        let forwarder = CancelForwarder(worker: self, packet: packet, targets: targets.count) { [weak self, weak session] delivered in
            self?.cancelForwarders[sessionID] = nil
            session?.end(.cancelForwarded("\(detail), delivered to \(delivered)"))
        }
        cancelForwarders[sessionID] = forwarder
        forwarder.start(targets, timeout: session.timeouts.connect)
    }

    /// Where a cancel request with an unknown key goes: every node with a live session of the
    /// listener's cancel group (a static listener, or the whole cluster), plus the servers of the
    /// current routes (the listener's own when static; every cluster listener's otherwise).
    func cancelTargets(for listener: ListenerRuntime) -> [CancelForwarder.Target] {
        var addresses = Set<SocketAddress>()
        var targets: [CancelForwarder.Target] = []
        for address in cancelTable.liveServers(group: listener.cancelGroup) where addresses.insert(address).inserted {
            targets.append(.address(address))
        }
        let routed = listener.configuration.role == .static
            ? [listener] : listeners.values.filter { $0.configuration.role != .static }
        var endpoints = Set<Endpoint>()
        for other in routed {
            for server in other.route.servers {
                if let literal = SocketAddress(literal: server.endpoint.host, port: server.endpoint.port) {
                    if addresses.insert(literal).inserted { targets.append(.address(literal)) }
                } else if endpoints.insert(server.endpoint).inserted {
                    targets.append(.endpoint(server.endpoint))
                }
            }
        }
        return targets
    }

    func connectFailed(_ session: Session, server: RouteServer, error: String) {
        session.listener.counters.connectErrors += 1
        session.listener.counters.retries += 1
        tally(for: server).counters.connectErrors += 1
        logger.warning(
            "connect to \(server.name) (\(server.endpoint)) failed: \(error)",
            metadata: ["listener": "\(session.listener.name)", "session": "\(session.label)", "backend": "\(server.name)"])
    }

    func countBytes(_ session: Session, toServer: Int, toClient: Int) {
        session.listener.counters.bytesIn &+= UInt64(toServer)
        session.listener.counters.bytesOut &+= UInt64(toClient)
        if let tally = session.serverTally {
            tally.counters.bytesIn &+= UInt64(toServer)
            tally.counters.bytesOut &+= UInt64(toClient)
        }
    }

    /// Bookkeeping when a session ends: counters, waiting lists, the log line, and the slots it frees.
    func sessionEnded(_ session: Session, reason: SessionEnd, wasEstablished: Bool) {
        sessions[session.id] = nil
        let listener = session.listener
        leaveWaitingLists(session)
        cancelForwarders.removeValue(forKey: session.id)?.stop()
        if case .noBackend = reason { listener.counters.noBackend += 1 }
        listener.shared.release()
        shared.releaseSession()
        if let sessionLog, configuration.logSessions { sessionLog.append(logLine(session, reason: reason)) }
        slotFreed(listener: listener)
        if draining && sessions.isEmpty { finishDrain() }
    }

    /// Takes a session off its listener's hold and queue lists (it ends, refuses or cancels).
    func leaveWaitingLists(_ session: Session) {
        let listener = session.listener
        if let index = listener.held.firstIndex(where: { $0 === session }) {
            listener.held.remove(at: index)
            shared.held.subtract(1, ordering: .relaxed)
        }
        if let index = listener.queued.firstIndex(where: { $0 === session }) {
            listener.queued.remove(at: index)
            listener.shared.queued.subtract(1, ordering: .relaxed)
        }
    }

    /// A session ended: a queued session may take its server slot, a paused listener may accept again.
    private func slotFreed(listener: ListenerRuntime) {
        if !listener.queued.isEmpty { retryQueue(listener) }
        for other in listeners.values where other.paused { other.resume() }
        if shared.pausedListeners.load(ordering: .relaxed) > 0 || listener.shared.queued.load(ordering: .relaxed) > 0 {
            onSlotFreedElsewhere?(listener.name)
        }
    }

    /// Set by the runtime: tells the other loops that a slot was freed here.
    var onSlotFreedElsewhere: ((String) -> Void)?

    /// Lets queued sessions of `listener` try again (a server slot may be free).
    func retryQueue(_ listener: ListenerRuntime) {
        let waiting = listener.queued
        listener.queued.removeAll()
        listener.shared.queued.subtract(waiting.count, ordering: .relaxed)
        for session in waiting {
            session.resume()
        }
    }

    /// A slot was freed on another loop.
    func slotFreedElsewhere(listenerName: String) {
        if let listener = listeners[listenerName], !listener.queued.isEmpty { retryQueue(listener) }
        for other in listeners.values where other.paused { other.resume() }
    }

    // MARK: - Shutdown

    /// Stops accepting; calls `completion` (on this loop) once every session ended, cutting the
    /// remaining ones at `deadline`.
    func drain(within grace: Duration, completion: @escaping @Sendable () -> Void) {
        draining = true
        drainCompletion = completion
        for listener in listeners.values { listener.retire() }
        for listener in listeners.values {
            for session in listener.held + listener.queued { session.end(.shutdown) }
        }
        if sessions.isEmpty {
            finishDrain()
            return
        }
        loop.schedule(after: grace) { [weak self] in
            guard let self else { return }
            for session in Array(self.sessions.values) { session.end(.shutdown) }
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
    func statistics() -> WorkerStatistics {
        var perListener: [String: ListenerCounters] = [:]
        var heldNow: [String: Int] = [:]
        var queuedNow: [String: Int] = [:]
        for (name, listener) in listeners {
            perListener[name] = listener.counters
            heldNow[name] = listener.held.count
            queuedNow[name] = listener.queued.count
        }
        retiredPools.removeAll { !$0.lentOut }
        let lenders = [pools] + retiredPools
        return WorkerStatistics(
            listeners: perListener, held: heldNow, queued: queuedNow, servers: serverTallies.mapValues(\.counters),
            sessions: sessions.count, buffersInUse: lenders.reduce(0) { $0 + $1.buffers.inUse },
            pipesInUse: lenders.reduce(0) { $0 + $1.pipes.inUse }, pipeDenials: pools.pipes.denials,
            routeServersCached: serverShared.count)
    }

    // MARK: - Logging

    private func logLine(_ session: Session, reason: SessionEnd) -> String {
        let now = loop.now
        let duration = Double(now &- session.acceptedAt) / 1e9
        let connect = session.establishedAt > 0 ? Double(session.establishedAt &- session.acceptedAt) / 1e3 / 1e3 : -1
        let backend = session.server.map { "\($0.name)" } ?? "-"
        let client = session.peer.map { "\($0)" } ?? "-"
        switch sessionLog?.format ?? .text {
        case .text:
            return "session=\(session.label) client=\(client) listener=\(session.listener.name) backend=\(backend) "
                + "bytes_in=\(session.bytesToServer) bytes_out=\(session.bytesToClient) "
                + "connect_ms=\(formatMillis(connect)) duration_s=\(formatSeconds(duration)) end=\(reason.code)"
                + (reasonDetail(reason).map { " detail=\"\($0)\"" } ?? "")
        case .json:
            var line = "{\"session\":\"\(session.label)\",\"client\":\"\(client)\",\"listener\":\(JSONText.quoted(session.listener.name)),"
            line += "\"backend\":\(JSONText.quoted(backend)),\"bytes_in\":\(session.bytesToServer),\"bytes_out\":\(session.bytesToClient),"
            line += "\"connect_ms\":\(formatMillis(connect)),\"duration_s\":\(formatSeconds(duration)),\"end\":\"\(reason.code)\""
            if let detail = reasonDetail(reason) { line += ",\"detail\":\(JSONText.quoted(detail))" }
            return line + "}"
        }
    }

    private func reasonDetail(_ reason: SessionEnd) -> String? {
        switch reason {
        case .connectFailed(let d), .noBackend(let d), .error(let d), .routeChanged(let d), .cancelForwarded(let d): return d
        default: return nil
        }
    }
}

/// What ``Worker/select(for:excluding:)`` found.
enum Selection {
    /// Connect here; the server slot is already taken.
    case server(RouteServer, ServerShared)
    /// Every untried candidate is at its `server_maxconn`: queue.
    case allBusy
    /// No untried candidate is left.
    case exhausted
}

/// Timeouts in a box sessions share.
final class TimeoutSettings {
    let value: Timeouts
    init(_ value: Timeouts) { self.value = value }
}

/// One loop's counters for one server, in a box sessions can hold on to.
final class ServerTally {
    var counters = ServerCounters()
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
}

/// Carries a loop-confined completion through the resolver's @Sendable hop and back to the same loop.
private final class CompletionBox: @unchecked Sendable {
    // @unchecked: created and called on the same loop thread; the resolver only passes it along.
    let completion: (Result<[SocketAddress], ResolutionError>) -> Void
    init(_ completion: @escaping (Result<[SocketAddress], ResolutionError>) -> Void) { self.completion = completion }
}

private func formatMillis(_ value: Double) -> String {
    value < 0 ? "-1" : String(Double(Int(value * 1000)) / 1000)
}

private func formatSeconds(_ value: Double) -> String {
    String(Double(Int(value * 1000)) / 1000)
}

