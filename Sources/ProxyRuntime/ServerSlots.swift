import PosixIO
import SwitchmanCore

/// One loop's view of the servers it connects to: the cross-loop session counts that enforce
/// `server_maxconn` (cached per route server, so choosing builds no key after the first time), and
/// this loop's own per-server counters for the stats. Chooses the server of each new session.
/// Loop-confined.
final class ServerSlots {
    private let shared: SharedCounters
    /// Cross-loop counters by route server, with the server they count (one entry per leader term;
    /// pruned on route changes).
    private var counters: [RouteServer: ServerSlot] = [:]
    /// This loop's counters per server, across terms.
    private(set) var tallies: [ServerKey: ServerTally] = [:]

    init(shared: SharedCounters) {
        self.shared = shared
    }

    /// Chooses a server for a session of `listener`, honouring `server_maxconn` (the slot is taken
    /// here, atomically, since another loop may take the last one between the choice and the connect).
    func select(for listener: ListenerRuntime, excluding tried: Set<String>) -> Selection {
        let slots = routeSlots(of: listener)
        let limit = listener.configuration.serverMaxconn
        // By position in the route; built only when there is something to skip.
        var skipped: [Bool]? = tried.isEmpty ? nil : slots.map { tried.contains($0.server.name) }
        var lostRaces = false
        for _ in 0...slots.count {
            let choice = listener.selector.pickIndex(
                count: slots.count, isTried: { skipped?[$0] ?? false },
                sessions: { slots[$0].shared.current.load(ordering: .relaxed) }, limit: limit)
            switch choice {
            case .index(let index):
                let slot = slots[index]
                if slot.shared.tryAcquire(limit: limit) { return .server(slot) }
                // Another loop took its last slot meanwhile.
                if skipped == nil { skipped = Array(repeating: false, count: slots.count) }
                skipped?[index] = true
                lostRaces = true
            case .allBusy:
                return .allBusy
            case .exhausted:
                return lostRaces ? .allBusy : .exhausted
            }
        }
        return .allBusy
    }

    /// This loop's counters of `server`, created on first use.
    func tally(for server: RouteServer) -> ServerTally {
        let key = server.key
        if let existing = tallies[key] { return existing }
        let fresh = ServerTally()
        tallies[key] = fresh
        return fresh
    }

    /// Forgets the cached counters of route servers no route names any more (each leader term is a
    /// new route server; sessions keep their own reference to the counter they hold).
    func forgetServers(notIn routed: Set<RouteServer>) {
        for (server, slot) in counters where !routed.contains(server) {
            retired.retire(server.generation, slot.traffic)
        }
        counters = counters.filter { routed.contains($0.key) }
    }

    /// Generations of servers no route names any more, with what was seen of them.
    private(set) var retired = RetiredGenerations()

    /// What this loop saw of every route generation it still knows (cached and recently retired).
    var generationTimes: [UInt64: GenerationTimes] {
        var all = retired.times
        for (server, slot) in counters { all[server.generation, default: GenerationTimes()].merge(slot.traffic) }
        return all
    }

    /// Route servers whose counters are cached.
    var cachedServers: Int { counters.count }

    private func slot(for server: RouteServer) -> ServerSlot {
        if let existing = counters[server] { return existing }
        let slot = ServerSlot(server: server, shared: shared.server(server.key), tally: tally(for: server))
        counters[server] = slot
        return slot
    }

    /// The slots of the listener's route servers, in route order: looked up once per route (a
    /// route server's hash covers its name, host and port strings, and a connection made three).
    private func routeSlots(of listener: ListenerRuntime) -> [ServerSlot] {
        if let cached = listener.routeSlots { return cached }
        let slots = listener.route.servers.map { slot(for: $0) }
        listener.routeSlots = slots
        return slots
    }
}

/// What ``ServerSlots/select(for:excluding:)`` found.
enum Selection {
    /// Connect here; the server slot is already taken.
    case server(ServerSlot)
    /// Every untried candidate is at its `server_maxconn`: queue.
    case allBusy
    /// No untried candidate is left.
    case exhausted
}

/// A route server and its cross-loop counts, in one box a session holds instead of both: the
/// server's name and endpoint are 48 bytes inline, and there may be thousands of idle sessions.
/// Loop-confined (the counts inside are shared).
final class ServerSlot {
    let server: RouteServer
    let shared: ServerShared
    /// This loop's counters of the server (across terms).
    let tally: ServerTally
    /// The server's address when its host is a literal IP (no lookup, and no parse per connection).
    let literalAddress: SocketAddress?
    /// When this loop first forwarded a byte to the server's term, and last forwarded one from it
    /// (monotonic; for the failover ledger).
    var traffic = GenerationTimes()

    init(server: RouteServer, shared: ServerShared, tally: ServerTally) {
        self.server = server
        self.shared = shared
        self.tally = tally
        literalAddress = SocketAddress(literal: server.endpoint.host, port: server.endpoint.port)
    }
}

/// One loop's counters for one server, in a box sessions can hold on to.
final class ServerTally {
    var counters = ServerCounters()
}
