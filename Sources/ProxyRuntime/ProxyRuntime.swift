import Logging
import PosixIO
import Reactor
import Synchronization
import SwitchmanCore

/// The data plane: listeners on every event loop, sessions, routing. Thread-safe facade; the work
/// happens on the loops, each of which owns a ``Worker``.
///
/// Static listeners route to their configured servers. Cluster listeners (`primary`, `replica`) hold
/// new sessions until ``updateRoutes(_:)`` gives them a route.
public final class ProxyRuntime: Sendable {
    private let group: EventLoopGroup
    /// One per loop (internal for tests that reach a loop's listeners).
    let workers: [Worker]
    private let shared: SharedCounters
    private let logger: Logger
    private let sessionLog: SessionLog?
    private let state: Mutex<State>
    /// Cancel keys → nodes, shared by every loop.
    let cancelTable: CancelTable

    private struct State {
        var configuration: ProxyConfiguration
        var routes: [String: ListenerRoute]
        var bound: [String: SocketAddress]
    }

    /// Creates the workers (one per loop of `group`); nothing is bound until ``start()``.
    public init(configuration: ProxyConfiguration, group: EventLoopGroup, resolver: AddressResolver,
                logger: Logger, sessionLog: SessionLog?) {
        self.group = group
        self.logger = logger
        self.sessionLog = sessionLog
        let shared = SharedCounters(maxconn: configuration.maxconn)
        self.shared = shared
        let cancelTable = CancelTable()
        self.cancelTable = cancelTable
        workers = group.loops.map {
            Worker(loop: $0, configuration: configuration, shared: shared, resolver: resolver, logger: logger,
                   sessionLog: sessionLog, cancelTable: cancelTable)
        }
        state = Mutex(State(configuration: configuration, routes: [:], bound: [:]))
        // Each worker tells the others; weak, or the workers would keep each other alive for ever.
        let others = workers.map { worker in workers.filter { $0 !== worker }.map { WeakWorker($0) } }
        for (worker, others) in zip(workers, others) {
            worker.onSlotFreedElsewhere = { name in
                for weak in others {
                    guard let other = weak.worker else { continue }
                    other.loop.execute { other.slotFreedElsewhere(listenerName: name) }
                }
            }
        }
    }

    /// Binds every listener (one socket per loop, SO_REUSEPORT) and starts accepting.
    /// Throws ``ListenerError`` naming the listener when a bind fails; nothing stays bound then.
    public func start() throws(ListenerError) {
        let configuration = state.withLock { $0.configuration }
        var opened: [(ListenerConfiguration, [Int32], SocketAddress)] = []
        for listener in configuration.listeners {
            do {
                let (fds, address) = try bindEverywhere(listener, keepalive: configuration.tcpKeepalive)
                opened.append((listener, fds, address))
            } catch {
                for (_, fds, _) in opened { fds.forEach(Socket.close) }
                throw error
            }
        }
        for (listener, fds, address) in opened { install(listener, fds: fds, address: address) }
    }

    /// The configuration in force: the last reload's, with the old values of what needs a restart.
    public var configuration: ProxyConfiguration { state.withLock { $0.configuration } }

    /// Listener name → the address it is bound to (the real port when the config said port 0).
    public var boundAddresses: [String: SocketAddress] { state.withLock { $0.bound } }

    /// Applies a reloaded configuration: limits, timeouts and servers for new sessions; added
    /// listeners open, removed ones close (their sessions drain), a changed bind reopens.
    /// Returns the changes that need a restart (they are not applied). A bind failure leaves the
    /// old listener in place and is reported in the thrown error.
    @discardableResult
    public func reload(_ configuration: ProxyConfiguration) throws(ListenerError) -> [String] {
        let old = state.withLock { $0.configuration }
        var restartNeeded = configuration.changesNeedingRestart(from: old)
        if old.stats != configuration.stats { restartNeeded.append("stats: changed") }
        // Keep the old values of what needs a restart, so what runs matches what the log says.
        let effective = configuration.applied(over: old)

        let oldByName = Dictionary(uniqueKeysWithValues: old.listeners.map { ($0.name, $0) })
        let newByName = Dictionary(uniqueKeysWithValues: effective.listeners.map { ($0.name, $0) })
        // Bind what is new first, so a failure changes nothing.
        var toOpen: [(ListenerConfiguration, [Int32], SocketAddress)] = []
        for listener in effective.listeners {
            if let previous = oldByName[listener.name], previous.bind == listener.bind, previous.role == listener.role { continue }
            do {
                let (fds, address) = try bindEverywhere(listener, keepalive: effective.tcpKeepalive, replacing: oldByName[listener.name])
                toOpen.append((listener, fds, address))
            } catch {
                for (_, fds, _) in toOpen { fds.forEach(Socket.close) }
                throw error
            }
        }
        shared.maxconn.store(effective.maxconn, ordering: .relaxed)
        state.withLock { $0.configuration = effective }
        let reopened = Set(toOpen.map { $0.0.name })
        let removed = old.listeners.filter { newByName[$0.name] == nil || reopened.contains($0.name) }
        // Without a cluster nothing else republishes static routes: every static listener gets its
        // route from this configuration here (a kept one its new servers; a reopened one, whose new
        // socket prefers the loop's latest route, this one rather than an earlier reload's). With a
        // cluster the coordinator's replan publishes them, an operator's pause included.
        let staticRoutes = effective.cluster != nil ? [:] : Dictionary(uniqueKeysWithValues:
            effective.listeners.filter { $0.role == .static }.map { ($0.name, route(for: $0, known: [:])) })
        for worker in workers {
            worker.loop.execute {
                for listener in removed { worker.removeListener(listener.name) }
                worker.apply(effective)
                if !staticRoutes.isEmpty { worker.updateRoutes(staticRoutes) }
            }
        }
        for listener in removed where newByName[listener.name] == nil {
            state.withLock { _ = $0.bound.removeValue(forKey: listener.name) }
            logger.info("listener \(listener.name) removed; its sessions drain", metadata: ["listener": "\(listener.name)"])
        }
        for (listener, fds, address) in toOpen { install(listener, fds: fds, address: address) }
        return restartNeeded
    }

    /// Replaces the routes of cluster listeners (from discovery). Safe from any thread.
    /// `completion` (optional, on some loop) receives how many live sessions were closed because
    /// their server left a route, summed over every loop.
    public func updateRoutes(_ routes: [String: ListenerRoute], completion: (@Sendable (Int) -> Void)? = nil) {
        state.withLock { current in
            for (name, route) in routes { current.routes[name] = route }
        }
        let pending = Mutex<(remaining: Int, closed: Int)>((workers.count, 0))
        for worker in workers {
            worker.loop.execute {
                let closed = worker.updateRoutes(routes)
                let total = pending.withLock { state -> Int? in
                    state.remaining -= 1
                    state.closed += closed
                    return state.remaining == 0 ? state.closed : nil
                }
                if let total { completion?(total) }
            }
        }
    }

    /// Ends every session open to cluster member `member`, on every loop (an operator's
    /// `shutdown-sessions`; `detail` says who asked, for the session log). `completion` (on some loop)
    /// receives how many were ended.
    public func shutdownSessions(ofMember member: String, detail: String, completion: @escaping @Sendable (Int) -> Void) {
        let pending = Mutex<(remaining: Int, closed: Int)>((workers.count, 0))
        for worker in workers {
            worker.loop.execute {
                let closed = worker.shutdownSessions(ofMember: member, detail: detail)
                let total = pending.withLock { state -> Int? in
                    state.remaining -= 1
                    state.closed += closed
                    return state.remaining == 0 ? state.closed : nil
                }
                if let total { completion(total) }
            }
        }
    }

    /// The current route of every listener.
    public var routes: [String: ListenerRoute] {
        state.withLock { current in
            var all: [String: ListenerRoute] = [:]
            for listener in current.configuration.listeners { all[listener.name] = route(for: listener, known: current.routes) }
            return all
        }
    }

    /// Stops accepting everywhere, lets sessions drain up to `grace`, cuts the rest, then calls
    /// `completion` (on some loop thread).
    public func shutdown(grace: Duration, completion: @escaping @Sendable () -> Void) {
        let remaining = Atomic<Int>(workers.count)
        let done = CompletionOnce(completion)
        for worker in workers {
            worker.loop.execute {
                worker.drain(within: grace) {
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        // A loop must not wait for the log's reader: the caller flushes with a bound.
                        self.sessionLog?.requestFlush()
                        done.call()
                    }
                }
            }
        }
    }

    /// Sums every loop's counters; `completion` runs on the last loop to answer. `drainingWaits`:
    /// also take (and forget) the wait outcomes recorded since the last draining call (one owner,
    /// the failover ledger, should drain).
    public func collectStatistics(drainingWaits: Bool = false, _ completion: @escaping @Sendable (RuntimeStatistics) -> Void) {
        let pending = Mutex<(remaining: Int, parts: [WorkerStatistics])>((workers.count, []))
        let dropped = sessionLog?.droppedLines ?? 0
        let serverSessions = shared.serverSessions()
        let listenerNames = state.withLock { $0.configuration.listeners.map(\.name) }
        let listenerShared = Dictionary(uniqueKeysWithValues: listenerNames.map { ($0, shared.listener($0)) })
        for worker in workers {
            worker.loop.execute {
                let part = worker.statistics(drainingWaits: drainingWaits)
                let finished = pending.withLock { state -> [WorkerStatistics]? in
                    state.parts.append(part)
                    state.remaining -= 1
                    return state.remaining == 0 ? state.parts : nil
                }
                guard let parts = finished else { return }
                var total = RuntimeStatistics()
                for part in parts {
                    for (name, counters) in part.listeners { total.listeners[name, default: ListenerStatistics()].counters.add(counters) }
                    for (name, held) in part.held { total.listeners[name, default: ListenerStatistics()].held += held }
                    for (name, queued) in part.queued { total.listeners[name, default: ListenerStatistics()].queued += queued }
                    for (key, counters) in part.servers { total.servers[key, default: ServerStatistics()].counters.add(counters) }
                    total.sessions += part.sessions
                    total.buffersInUse += part.buffersInUse
                    total.pipesInUse += part.pipesInUse
                    total.pipeDenials += part.pipeDenials
                    total.routeServersCached = max(total.routeServersCached, part.routeServersCached)
                    for (name, histogram) in part.holdWaits { total.listeners[name, default: ListenerStatistics()].holdWaits.merge(histogram) }
                    for (generation, times) in part.generations { total.generations[generation, default: GenerationTimes()].merge(times) }
                    total.waitSamples += part.waitSamples
                    total.waitSamplesDropped += part.waitSamplesDropped
                }
                for (name, shared) in listenerShared where total.listeners[name] != nil {
                    total.listeners[name]?.current = shared.current.load(ordering: .relaxed)
                }
                for (key, current) in serverSessions { total.servers[key, default: ServerStatistics()].current = current }
                total.droppedLogLines = dropped
                completion(total)
            }
        }
    }

    // MARK: - Private

    private func route(for listener: ListenerConfiguration, known: [String: ListenerRoute]) -> ListenerRoute {
        if listener.role == .static {
            return ListenerRoute(
                state: .ready,
                servers: listener.servers.map { RouteServer(name: "\($0)", endpoint: $0) },
                closesStaleSessions: false)
        }
        return known[listener.name]
            ?? ListenerRoute(state: .hold(reason: "no picture of the cluster yet"), servers: [], closesStaleSessions: true)
    }

    private func install(_ listener: ListenerConfiguration, fds: [Int32], address: SocketAddress) {
        let route = state.withLock { current -> ListenerRoute in
            current.bound[listener.name] = address
            return self.route(for: listener, known: current.routes)
        }
        for (worker, fd) in zip(workers, fds) {
            worker.loop.execute { worker.addListener(listener, route: route, fd: fd) }
        }
        logger.info("listening on \(address) (\(listener.role))", metadata: ["listener": "\(listener.name)"])
    }

    /// One socket per loop on the same address, with the listener socket options (`keepalive`) set
    /// before it listens. With port 0 the first socket picks the port and the others join it.
    /// `replacing`: a listener being rebound to the same port is closed by the caller after, so
    /// SO_REUSEPORT lets both coexist for a moment.
    private func bindEverywhere(
        _ listener: ListenerConfiguration, keepalive: TCPKeepalive?, replacing: ListenerConfiguration? = nil
    ) throws(ListenerError) -> ([Int32], SocketAddress) {
        guard case .success(let addresses) = NameResolution.resolve(host: listener.bind.host, port: listener.bind.port),
              var address = addresses.first else {
            throw ListenerError(listener: listener.name, address: "\(listener.bind)", reason: "cannot resolve the bind address")
        }
        var fds: [Int32] = []
        do throws(IOError) {
            for _ in workers {
                let fd = try Socket.listen(on: address, reusePort: true) { fd throws(IOError) in
                    try ListenerRuntime.setSocketOptions(fd, keepalive: keepalive)
                }
                fds.append(fd)
                if address.port == 0 { address = try Socket.localAddress(fd) }
            }
        } catch {
            fds.forEach(Socket.close)
            throw ListenerError(listener: listener.name, address: "\(listener.bind)", reason: error.message)
        }
        return (fds, address)
    }
}

/// A listener that could not be opened.
public struct ListenerError: Error, CustomStringConvertible, Sendable {
    /// The listener's name.
    public let listener: String
    /// The address it tried.
    public let address: String
    /// Why (e.g. "Address already in use").
    public let reason: String
    public var description: String { "listener \(listener): cannot listen on \(address): \(reason)" }
}

/// A worker reference that does not keep it alive.
private struct WeakWorker {
    weak var worker: Worker?
    init(_ worker: Worker) { self.worker = worker }
}

/// Calls a completion at most once.
private final class CompletionOnce: Sendable {
    private let completion: Mutex<(@Sendable () -> Void)?>
    init(_ completion: @escaping @Sendable () -> Void) { self.completion = Mutex(completion) }
    func call() { completion.withLock { $0.take() }?() }
}
