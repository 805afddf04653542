/// Chooses the server a new session connects to: pure, so each rule is table-tested without sockets.
///
/// One selector per listener per event loop (it carries the round-robin cursor, so it is a value
/// owned by that loop). The caller passes what it knows now: the route's candidates, how many
/// sessions each server holds, the per-server limit, and the servers this session already tried.
///
/// - `roundrobin`: the first usable candidate at or after the cursor, in route order.
/// - `leastconn`: the usable candidate with the fewest sessions; among equals, the first at or after
///   the cursor, so ties rotate instead of always landing on the first server.
///
/// A candidate is usable when this session has not tried it and it is below the limit.
public struct BackendSelector: Sendable, Equatable {
    /// What `pick` decided.
    public enum Choice: Sendable, Equatable {
        /// Connect to this server.
        case server(RouteServer)
        /// Every candidate not yet tried is at its limit: queue the session until a slot frees.
        case allBusy
        /// No candidate is left to try (none at all, or all tried): give up.
        case exhausted
    }

    /// How candidates are ranked.
    public var balance: BalanceAlgorithm
    /// Where the next round-robin scan starts, as an index into the candidates (taken modulo their
    /// count, so a route that shrinks or grows keeps working). Advanced past each server picked.
    public private(set) var cursor: Int

    /// A selector starting its rotation at `cursor` (give each loop a different start to spread
    /// the first sessions of a freshly started proxy).
    public init(balance: BalanceAlgorithm, cursor: Int = 0) {
        self.balance = balance
        self.cursor = max(0, cursor)
    }

    /// Picks a server for one connection attempt and, when one is picked, moves the cursor past it.
    ///
    /// - Parameters:
    ///   - candidates: The route's servers, in route order.
    ///   - sessions: Sessions currently open (or connecting) to a server.
    ///   - limit: Sessions allowed per server (`server_maxconn`); `nil` for no limit.
    ///   - tried: Servers this session already failed to connect to.
    public mutating func pick(
        from candidates: [RouteServer],
        sessions: (RouteServer) -> Int,
        limit: Int?,
        tried: Set<RouteServer> = []
    ) -> Choice {
        let choice = pickIndex(
            count: candidates.count, isTried: { tried.contains(candidates[$0]) },
            sessions: { sessions(candidates[$0]) }, limit: limit)
        switch choice {
        case .index(let index): return .server(candidates[index])
        case .allBusy: return .allBusy
        case .exhausted: return .exhausted
        }
    }

    /// What `pickIndex` decided: the position of the server to connect to, or why there is none.
    public enum IndexChoice: Sendable, Equatable {
        case index(Int)
        case allBusy
        case exhausted
    }

    /// The same choice as ``pick(from:sessions:limit:tried:)`` by position among `count`
    /// candidates: `isTried(i)` and `sessions(i)` describe candidate `i`. The data plane keeps its
    /// per-server state in arrays in route order, so a pick this way hashes nothing.
    public mutating func pickIndex(count: Int, isTried: (Int) -> Bool, sessions: (Int) -> Int, limit: Int?) -> IndexChoice {
        var untried = 0
        var best: (index: Int, sessions: Int)?
        // Scan in rotation order from the cursor: the first usable one wins for round-robin, and
        // the first of the least loaded wins for leastconn.
        for step in 0..<count {
            let index = (cursor % max(count, 1) + step) % count
            if isTried(index) { continue }
            untried += 1
            let load = sessions(index)
            if let limit, load >= limit { continue }
            switch balance {
            case .roundrobin:
                if best == nil { best = (index, load) }
            case .leastconn:
                if load < (best?.sessions ?? .max) { best = (index, load) }
            }
            if balance == .roundrobin && best != nil { break }
        }
        guard let best else { return untried == 0 ? .exhausted : .allBusy }
        cursor = (best.index + 1) % count
        return .index(best.index)
    }
}
