import Discovery
import Foundation
import PosixIO
import ProxyRuntime
import Reactor
import Synchronization
import SwitchmanCore

/// Builds the one ``StatsSnapshot`` every stats view renders: the data plane's counters (summed over
/// loops), the cluster coordinator's view, the process, the loops' heartbeats, and 10-second rates
/// sampled once a second.
final class StatsAssembler: Sendable {
    private struct Rates {
        var sessions = RateWindow()
        var bytesIn = RateWindow()
        var bytesOut = RateWindow()
        var last: ListenerCounters?
    }

    private struct ServerHealth {
        var lastCounters = ServerCounters()
        var failing = false
        var since: Double = 0
    }

    private struct State {
        var configuration: ProxyConfiguration
        var configPath: String
        var rates: [String: Rates] = [:]
        var servers: [ServerKey: ServerHealth] = [:]
        var reloads: UInt64 = 0
        var reloadFailures: UInt64 = 0
        var lastReload: ReloadStats?
        var events: [StatsEvent] = []
    }

    private let runtime: ProxyRuntime
    private let coordinator: ClusterCoordinator?
    private let group: EventLoopGroup
    private let startTime = SystemClock.wallSeconds()
    private let state: Mutex<State>
    /// The failover ledger and the 15-minute series.
    private let ledger = LedgerRecorder()

    init(configuration: ProxyConfiguration, configPath: String, runtime: ProxyRuntime, coordinator: ClusterCoordinator?,
         group: EventLoopGroup) {
        self.runtime = runtime
        self.coordinator = coordinator
        self.group = group
        state = Mutex(State(configuration: configuration, configPath: configPath))
    }

    /// Samples counters once a second on `loop` (for the 10 s rates and static server status).
    func startSampling(on loop: EventLoop) {
        loop.execute { self.scheduleSample(on: loop) }
    }

    private func scheduleSample(on loop: EventLoop) {
        loop.schedule(after: .seconds(1)) {
            let routes = self.runtime.routes
            self.runtime.collectStatistics(drainingWaits: true) { statistics in
                self.sample(statistics)
                let configuration = self.state.withLock { $0.configuration }
                if let coordinator = self.coordinator {
                    coordinator.view { view in
                        self.ledger.sample(statistics, cluster: view, routes: routes, configuration: configuration)
                    }
                } else {
                    self.ledger.sample(statistics, cluster: nil, routes: routes, configuration: configuration)
                }
            }
            self.scheduleSample(on: loop)
        }
    }

    private func sample(_ statistics: RuntimeStatistics) {
        let second = Int64(SystemClock.monotonicNanoseconds() / 1_000_000_000)
        let now = SystemClock.wallSeconds()
        state.withLock { state in
            for (name, listener) in statistics.listeners {
                var rates = state.rates[name] ?? Rates()
                let counters = listener.counters
                if let last = rates.last {
                    rates.sessions.add(counters.sessionsTotal &- last.sessionsTotal, second: second)
                    rates.bytesIn.add(counters.bytesIn &- last.bytesIn, second: second)
                    rates.bytesOut.add(counters.bytesOut &- last.bytesOut, second: second)
                }
                rates.last = counters
                state.rates[name] = rates
            }
            for (key, server) in statistics.servers {
                var health = state.servers[key] ?? ServerHealth(since: now)
                let newErrors = server.counters.connectErrors > health.lastCounters.connectErrors
                let newSessions = server.counters.sessionsTotal > health.lastCounters.sessionsTotal
                let failing = newErrors ? !newSessions : (newSessions ? false : health.failing)
                if failing != health.failing { health.since = now }
                health.failing = failing
                health.lastCounters = server.counters
                state.servers[key] = health
            }
        }
    }

    /// Records a reload for the page.
    func recordReload(succeeded: Bool, message: String) {
        let now = SystemClock.wallSeconds()
        state.withLock { state in
            state.reloads += 1
            if !succeeded { state.reloadFailures += 1 }
            state.lastReload = ReloadStats(time: now, succeeded: succeeded, message: message)
            state.events.insert(StatsEvent(time: now, kind: .reload, message: message), at: 0)
            if state.events.count > 50 { state.events.removeLast() }
        }
    }

    func updateConfiguration(_ configuration: ProxyConfiguration) {
        state.withLock { $0.configuration = configuration }
    }

    /// Gathers everything and calls `completion` (on some loop thread).
    func snapshot(_ completion: @escaping @Sendable (StatsSnapshot) -> Void) {
        let routes = runtime.routes
        let bound = runtime.boundAddresses
        runtime.collectStatistics { statistics in
            if let coordinator = self.coordinator {
                coordinator.view { view in completion(self.assemble(statistics, routes: routes, bound: bound, cluster: view)) }
            } else {
                completion(self.assemble(statistics, routes: routes, bound: bound, cluster: nil))
            }
        }
    }

    private func assemble(_ statistics: RuntimeStatistics, routes: [String: ListenerRoute], bound: [String: SocketAddress],
                          cluster: ClusterView?) -> StatsSnapshot {
        let now = SystemClock.wallSeconds()
        let monotonic = SystemClock.monotonicNanoseconds()
        let second = Int64(monotonic / 1_000_000_000)
        return state.withLock { state in
            let configuration = state.configuration
            var listeners: [ListenerStats] = []
            var members: [MemberStats] = []
            for listener in configuration.listeners {
                let figures = statistics.listeners[listener.name] ?? ListenerStatistics()
                let route = routes[listener.name]
                let rates = state.rates[listener.name] ?? Rates()
                let c = figures.counters
                listeners.append(ListenerStats(
                    name: listener.name, bind: bound[listener.name]?.description ?? listener.bind.description, role: listener.role,
                    routeState: route?.state ?? .hold(reason: "starting"), routeServers: route?.servers.map(\.name) ?? [],
                    sessionsCurrent: figures.current, sessionsMax: listener.maxconn ?? configuration.maxconn,
                    sessionsTotal: c.sessionsTotal, held: figures.held, queued: figures.queued, bytesIn: c.bytesIn, bytesOut: c.bytesOut,
                    connectErrors: c.connectErrors, retries: c.retries, staleSessionsClosed: c.closedByRouteChange,
                    sessionsMovedByRouteChange: c.movedByRouteChange,
                    clientAddressTagged: c.clientAddressTagged, clientAddressUntaggedEncrypted: c.clientAddressUntaggedEncrypted,
                    sessionsRefused: c.noBackend, cancelRequestsForwarded: c.cancelRequestsForwarded,
                    sessionsPerSecond: rates.sessions.rate(now: second), bytesInPerSecond: rates.bytesIn.rate(now: second),
                    bytesOutPerSecond: rates.bytesOut.rate(now: second)))
                listeners[listeners.count - 1].paused = cluster?.pausedListeners.contains(listener.name) ?? false
                if listener.role == .static {
                    for server in listener.servers {
                        let key = ServerKey(staticServer: server)
                        let figures = statistics.servers[key] ?? ServerStatistics()
                        let health = state.servers[key]
                        members.append(MemberStats(
                            name: server.description, address: server.description, listener: listener.name,
                            status: health?.failing == true ? .down : .up,
                            statusReason: health?.failing == true ? "connects failing" : nil, lastStatusChange: health?.since,
                            sessionsCurrent: figures.current, sessionsTotal: figures.counters.sessionsTotal,
                            bytesIn: figures.counters.bytesIn, bytesOut: figures.counters.bytesOut))
                    }
                }
            }
            if let cluster {
                var clusterMembers = cluster.members
                for index in clusterMembers.indices {
                    // A member's traffic is the sum over every server key with its name (a node keeps its
                    // name across terms; the key also carries its address).
                    let name = clusterMembers[index].name
                    for (key, figures) in statistics.servers where key.name == name {
                        clusterMembers[index].sessionsCurrent += figures.current
                        clusterMembers[index].sessionsTotal += figures.counters.sessionsTotal
                        clusterMembers[index].bytesIn += figures.counters.bytesIn
                        clusterMembers[index].bytesOut += figures.counters.bytesOut
                    }
                }
                members = clusterMembers + members
            }
            let loops = group.loops.map { loop in
                LoopStats(id: loop.index, heartbeatAge: Double(monotonic &- min(monotonic, loop.lastHeartbeatNanoseconds)) / 1e9)
            }
            let events = ((cluster?.events ?? []) + state.events).sorted { $0.time > $1.time }
            let process = ProcessStats(
                version: SwitchmanVersion.current, startTime: startTime, threads: group.loops.count, pid: Int(getpid()),
                configFile: state.configPath, lastReload: state.lastReload, reloadsTotal: state.reloads,
                reloadFailuresTotal: state.reloadFailures,
                logLinesDroppedTotal: UInt64(statistics.droppedLogLines + LoggingSetup.diagnostics.droppedLines))
            return StatsSnapshot(
                generatedAt: now, process: process, cluster: cluster?.cluster, listeners: listeners, members: members,
                events: Array(events.prefix(100)), loops: loops,
                ledger: ledger.stats(statistics, cluster: cluster, configuration: configuration))
        }
    }
}
