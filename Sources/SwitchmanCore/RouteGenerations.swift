/// Hands out route generations, so a session opened in an earlier term is recognised as stale.
///
/// A new generation is assigned each time a member newly becomes the writable (confirmed) leader, and
/// each time a member (re-)enters a replica listener's set; a changed endpoint counts as new. All
/// generations come from one counter, so a member's replica generation never equals its leader one.
/// Pure value: the planner threads it through `inout`; calling the planner twice with the same input
/// changes nothing.
public struct RouteGenerations: Sendable, Hashable {
    /// The last generation handed out (to a leader term or a replica's stay in a read pool).
    public private(set) var lastGeneration: UInt64
    /// The generation of the last leader term (0 before the first): the primary generation that stats
    /// report. Replicas entering a read pool take generations from the same counter but leave it alone.
    public private(set) var lastLeaderGeneration: UInt64 = 0
    /// The current writable leader's term, `nil` while writes are held.
    public private(set) var leader: RouteServer?
    /// Replica listener name → member name → its current stay in that listener's set.
    private var replicas: [String: [String: RouteServer]] = [:]
    /// Replica listener name → the leader term its `fallback: primary` sent reads to, kept until
    /// that term ends: the read sessions it opened on the leader stay when replicas come back.
    private var fallbackTerms: [String: RouteServer] = [:]

    /// Starts counting after `lastGeneration` (a restarted process may continue from a stored value).
    public init(lastGeneration: UInt64 = 0) {
        self.lastGeneration = lastGeneration
    }

    /// The route server of `name`'s leader term: the current one if `name` at `endpoint` already leads,
    /// else a new term with a new generation.
    public mutating func leaderTerm(name: String, endpoint: Endpoint) -> RouteServer {
        if let leader, leader.name == name, leader.endpoint == endpoint { return leader }
        let term = RouteServer(name: name, endpoint: endpoint, generation: next())
        leader = term
        fallbackTerms = [:]
        lastLeaderGeneration = term.generation
        return term
    }

    /// Writes are held: the next confirmed leader (even the same member) starts a new term.
    public mutating func endLeaderTerm() {
        leader = nil
        fallbackTerms = [:]
    }

    /// Replica listener `listener` sends its reads to leader term `term` (no replica eligible); the
    /// term is kept only while it is the current one (``fallbackTerm(listener:)``).
    public mutating func fellBack(listener: String, to term: RouteServer) {
        fallbackTerms[listener] = term
    }

    /// The current leader term if replica listener `listener` fell back to it (its read sessions
    /// there may still be open), else nil.
    public func fallbackTerm(listener: String) -> RouteServer? {
        guard let term = fallbackTerms[listener], term == leader else { return nil }
        return term
    }

    /// The route servers of a replica listener's set, in the given order: members already in the set
    /// (same endpoint) keep their generation, newcomers get a new one; members left out are forgotten,
    /// so their return counts as new, except those in `keeping` (out for lag only, their open
    /// sessions stay): they keep their route server, returned as `draining`, and keep it when they
    /// come back.
    public mutating func replicaSet(
        listener: String, members: [(name: String, endpoint: Endpoint)], keeping: Set<String> = []
    ) -> (servers: [RouteServer], draining: [RouteServer]) {
        let previous = replicas[listener] ?? [:]
        var current: [String: RouteServer] = [:]
        var servers: [RouteServer] = []
        for (name, endpoint) in members {
            let server: RouteServer
            if let kept = previous[name], kept.endpoint == endpoint {
                server = kept
            } else {
                server = RouteServer(name: name, endpoint: endpoint, generation: next())
            }
            current[name] = server
            servers.append(server)
        }
        var draining: [RouteServer] = []
        for name in keeping.sorted() where current[name] == nil {
            guard let kept = previous[name] else { continue }
            current[name] = kept
            draining.append(kept)
        }
        replicas[listener] = current.isEmpty ? nil : current
        return (servers, draining)
    }

    /// Forgets replica listeners that are no longer configured.
    public mutating func retainReplicaListeners(_ names: Set<String>) {
        replicas = replicas.filter { names.contains($0.key) }
        fallbackTerms = fallbackTerms.filter { names.contains($0.key) }
    }

    private mutating func next() -> UInt64 {
        lastGeneration += 1
        return lastGeneration
    }
}
