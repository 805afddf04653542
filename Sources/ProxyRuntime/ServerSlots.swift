import SwitchmanCore

/// One loop's view of the servers it connects to: the cross-loop session counts that enforce
/// `server_maxconn` (cached per route server, so choosing builds no key after the first time), and
/// this loop's own per-server counters for the stats. Chooses the server of each new session.
/// Loop-confined.
final class ServerSlots {
    private let shared: SharedCounters
    /// Cross-loop counters by route server (one entry per leader term; pruned on route changes).
    private var counters: [RouteServer: ServerShared] = [:]
    /// This loop's counters per server, across terms.
    private(set) var tallies: [ServerKey: ServerTally] = [:]

    init(shared: SharedCounters) {
        self.shared = shared
    }

    /// Chooses a server for a session of `listener`, honouring `server_maxconn` (the slot is taken
    /// here, atomically, since another loop may take the last one between the choice and the connect).
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
        counters = counters.filter { routed.contains($0.key) }
    }

    /// Route servers whose counters are cached.
    var cachedServers: Int { counters.count }

    private func counter(for server: RouteServer) -> ServerShared {
        if let existing = counters[server] { return existing }
        let counter = shared.server(server.key)
        counters[server] = counter
        return counter
    }
}

/// What ``ServerSlots/select(for:excluding:)`` found.
enum Selection {
    /// Connect here; the server slot is already taken.
    case server(RouteServer, ServerShared)
    /// Every untried candidate is at its `server_maxconn`: queue.
    case allBusy
    /// No untried candidate is left.
    case exhausted
}

/// One loop's counters for one server, in a box sessions can hold on to.
final class ServerTally {
    var counters = ServerCounters()
}
