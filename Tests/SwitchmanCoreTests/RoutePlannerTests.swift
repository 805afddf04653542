@testable import SwitchmanCore
import Testing

/// The pure planner: ZooKeeper picture + promotion state + listeners → routes, with reasons and generations.
struct RoutePlannerTests {
    static let primary = ListenerConfiguration(name: "primary", bind: Endpoint(host: "0.0.0.0", port: 5432), role: .primary)
    static let replicas = ListenerConfiguration(
        name: "replicas", bind: Endpoint(host: "0.0.0.0", port: 5433), role: .replica, maxLag: LagLimit(bytes: 16 << 20), fallback: .primary
    )
    static let strict = ListenerConfiguration(
        name: "strict", bind: Endpoint(host: "0.0.0.0", port: 5434), role: .replica, maxLag: LagLimit(bytes: 16 << 20), fallback: .none
    )
    static let unlimited = ListenerConfiguration(name: "unlimited", bind: Endpoint(host: "0.0.0.0", port: 5435), role: .replica)
    static let listeners = [primary, replicas, strict, unlimited]
    static let position: UInt64 = 100 << 20

    static func member(
        _ name: String, role: MemberRole = .replica, state: String = "running", xlog: UInt64? = position,
        tags: MemberTags = MemberTags(), port: UInt16? = nil
    ) -> (String, MemberEntry) {
        let port = port ?? 5432 + UInt16(name.last?.wholeNumberValue ?? 0)
        return (name, .valid(ClusterMember(
            name: name, endpoint: Endpoint(host: "127.0.0.1", port: port), role: role, state: state, xlogLocation: xlog, tags: tags
        )))
    }

    /// pg-0 leads; pg-1 and pg-2 replicate, up to date, unless `members` says otherwise.
    static func cluster(leader: String? = "pg-0", _ members: [(String, MemberEntry)]? = nil) -> Topology {
        let members = members ?? [member("pg-0", role: .primary), member("pg-1"), member("pg-2")]
        return Topology(scope: "demo", leaderName: leader, members: Dictionary(uniqueKeysWithValues: members), leaderOptime: position)
    }

    static func plan(
        _ topology: Topology?, confirmed: String? = "pg-0", health: DiscoveryHealth = .live,
        listeners: [ListenerConfiguration] = listeners
    ) -> RoutePlan {
        var generations = RouteGenerations()
        return RoutePlanner.plan(
            listeners: listeners, topology: topology,
            promotion: PromotionState(confirmedLeader: confirmed, discovery: health), generations: &generations
        )
    }

    // MARK: Primary

    struct PrimaryCase: Sendable, CustomTestStringConvertible {
        let label: String
        let topology: Topology?
        var confirmed: String? = "pg-0"
        var health: DiscoveryHealth = .live
        let state: ListenerRoute.State
        var server: String? = nil
        var toConfirm: String? = nil
        var testDescription: String { label }
    }

    static let primaryCases: [PrimaryCase] = [
        PrimaryCase(label: "confirmed leader", topology: cluster(), state: .ready, server: "pg-0"),
        PrimaryCase(label: "confirmed leader, reconnecting: last picture kept", topology: cluster(), health: .reconnecting, state: .ready, server: "pg-0"),
        PrimaryCase(label: "confirmed leader whose member data still says replica", topology: cluster(leader: "pg-1"), confirmed: "pg-1", state: .ready, server: "pg-1"),
        PrimaryCase(label: "before the first picture", topology: nil, state: .hold(reason: "no picture from ZooKeeper yet")),
        PrimaryCase(
            label: "session expired: fail closed even when confirmed", topology: cluster(), health: .expired,
            state: .hold(reason: "ZooKeeper session expired: writes held until a fresh picture is read")
        ),
        PrimaryCase(label: "no leader znode", topology: cluster(leader: nil), state: .hold(reason: "no leader in ZooKeeper")),
        PrimaryCase(label: "leader not confirmed yet", topology: cluster(), confirmed: nil,
                    state: .hold(reason: "leader pg-0 not yet confirmed (promotion in progress)"), toConfirm: "pg-0"),
        PrimaryCase(label: "new leader while the old one is still confirmed", topology: cluster(leader: "pg-1"), confirmed: "pg-0",
                    state: .hold(reason: "leader pg-1 not yet confirmed (promotion in progress)"), toConfirm: "pg-1"),
        PrimaryCase(label: "leader without member data", topology: cluster(leader: "pg-9"), confirmed: "pg-9",
                    state: .hold(reason: "leader pg-9 has no member data")),
        PrimaryCase(label: "leader with invalid member data", topology: cluster([("pg-0", .invalid(reason: "no conn_url"))]),
                    state: .hold(reason: "leader pg-0 has invalid member data: no conn_url")),
        PrimaryCase(label: "standby leader, even confirmed", topology: cluster([member("pg-0", role: .standbyLeader)]),
                    state: .hold(reason: "leader pg-0 is a standby leader (standby cluster): never writable")),
    ]

    @Test(arguments: primaryCases)
    func routesWritesOnlyToTheConfirmedLeaderNamedByZooKeeper(_ fixture: PrimaryCase) {
        let plan = Self.plan(fixture.topology, confirmed: fixture.confirmed, health: fixture.health)
        let route = plan.routes["primary"]
        #expect(route?.state == fixture.state)
        #expect(route?.servers.map(\.name) == (fixture.server.map { [$0] } ?? []))
        #expect(route?.closesStaleSessions == true)
        #expect(plan.writableLeader?.name == fixture.server)
        #expect(plan.leaderToConfirm?.name == fixture.toConfirm)
        if let server = fixture.server {
            #expect(route?.servers.first?.endpoint == fixture.topology?.members[server]?.member?.endpoint)
        }
    }

    @Test func primaryEligibilityExplainsEveryMember() {
        let topology = Self.cluster([
            Self.member("pg-0", role: .primary), Self.member("pg-1", state: "stopped"), Self.member("pg-2"),
            ("pg-3", .invalid(reason: "no conn_url")),
        ])
        #expect(Self.plan(topology).eligibility["primary"] == [
            MemberEligibility(member: "pg-0", status: .up),
            MemberEligibility(member: "pg-1", status: .down, reason: "not running (stopped)"),
            MemberEligibility(member: "pg-2", status: .excluded, reason: "not the leader"),
            MemberEligibility(member: "pg-3", status: .down, reason: "invalid member data: no conn_url"),
        ])
        #expect(Self.plan(topology, confirmed: nil).eligibility["primary"]?.first
            == MemberEligibility(member: "pg-0", status: .excluded, reason: "not confirmed"))
    }

    // MARK: Replicas

    struct ReplicaCase: Sendable, CustomTestStringConvertible {
        let label: String
        let topology: Topology?
        var confirmed: String? = "pg-0"
        var health: DiscoveryHealth = .live
        var listener = "replicas"
        let state: ListenerRoute.State
        let servers: [String]
        var rows: [MemberEligibility] = []
        var testDescription: String { label }
    }

    static let replicaCases: [ReplicaCase] = [
        ReplicaCase(label: "healthy replicas, leader left out", topology: cluster(), state: .ready, servers: ["pg-1", "pg-2"],
                    rows: [MemberEligibility(member: "pg-0", status: .excluded, reason: "leader"), MemberEligibility(member: "pg-1", status: .up)]),
        ReplicaCase(label: "lag over max_lag", topology: cluster([member("pg-0", role: .primary), member("pg-1", xlog: position - (20 << 20)), member("pg-2")]),
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-1", status: .excluded, reason: "lag 20MB > 16MB")]),
        ReplicaCase(label: "lag exactly max_lag is allowed", topology: cluster([member("pg-0", role: .primary), member("pg-1", xlog: position - (16 << 20))]),
                    state: .ready, servers: ["pg-1"]),
        ReplicaCase(label: "lag just over max_lag shows exact bytes", topology: cluster([member("pg-0", role: .primary), member("pg-1", xlog: position - (16 << 20) - 1), member("pg-2")]),
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-1", status: .excluded, reason: "lag 16777217B > 16777216B")]),
        ReplicaCase(label: "noloadbalance", topology: cluster([member("pg-0", role: .primary), member("pg-1", tags: MemberTags(noloadbalance: true)), member("pg-2")]),
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-1", status: .excluded, reason: "noloadbalance")]),
        ReplicaCase(label: "nofailover and nosync do not matter for reads", topology: cluster([member("pg-0", role: .primary), member("pg-1", tags: MemberTags(nofailover: true, nosync: true))]),
                    state: .ready, servers: ["pg-1"]),
        ReplicaCase(label: "not running", topology: cluster([member("pg-0", role: .primary), member("pg-1", state: "starting"), member("pg-2")]),
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-1", status: .down, reason: "not running (starting)")]),
        ReplicaCase(label: "invalid member data", topology: cluster([member("pg-0", role: .primary), ("pg-1", .invalid(reason: "invalid JSON (3 bytes)")), member("pg-2")]),
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-1", status: .down, reason: "invalid member data: invalid JSON (3 bytes)")]),
        ReplicaCase(label: "non-replica roles", topology: cluster([member("pg-0", role: .primary), member("pg-1", role: .demoted), member("pg-2", role: .primary)]),
                    state: .ready, servers: ["pg-0"], rows: [
                        MemberEligibility(member: "pg-0", status: .up, reason: "fallback: leader"),
                        MemberEligibility(member: "pg-1", status: .excluded, reason: "role demoted"),
                        MemberEligibility(member: "pg-2", status: .excluded, reason: "role primary"),
                    ]),
        ReplicaCase(label: "the leader never reads as a replica, even if its data says replica", topology: cluster(leader: "pg-1"), confirmed: nil,
                    state: .ready, servers: ["pg-2"], rows: [MemberEligibility(member: "pg-0", status: .excluded, reason: "role primary"),
                                                             MemberEligibility(member: "pg-1", status: .excluded, reason: "leader")]),
        ReplicaCase(label: "unknown lag with max_lag", topology: cluster([member("pg-0", role: .primary), member("pg-1", xlog: nil)]),
                    state: .ready, servers: ["pg-0"], rows: [MemberEligibility(member: "pg-1", status: .excluded, reason: "lag unknown")]),
        ReplicaCase(label: "unknown lag without max_lag", topology: cluster([member("pg-0", role: .primary), member("pg-1", xlog: nil)]),
                    listener: "unlimited", state: .ready, servers: ["pg-1"]),
        ReplicaCase(label: "no replica: fallback to the confirmed leader", topology: cluster([member("pg-0", role: .primary)]),
                    state: .ready, servers: ["pg-0"]),
        ReplicaCase(label: "no replica, leader unconfirmed: hold", topology: cluster([member("pg-0", role: .primary)]), confirmed: nil,
                    state: .hold(reason: "no eligible replica and leader pg-0 not yet confirmed (promotion in progress)"), servers: []),
        ReplicaCase(label: "no replica, fallback none", topology: cluster([member("pg-0", role: .primary)]), listener: "strict",
                    state: .unavailable(reason: "no eligible replica"), servers: []),
        ReplicaCase(label: "expired session: reads keep the last picture", topology: cluster(), health: .expired,
                    state: .ready, servers: ["pg-1", "pg-2"]),
        ReplicaCase(label: "no leader: reads continue against the most advanced member", topology: cluster(leader: nil, [member("pg-0", role: .demoted), member("pg-1"), member("pg-2", xlog: position - 10)]),
                    state: .ready, servers: ["pg-1", "pg-2"]),
        ReplicaCase(label: "before the first picture", topology: nil, state: .hold(reason: "no picture from ZooKeeper yet"), servers: []),
    ]

    @Test(arguments: replicaCases)
    func routesReadsToHealthyReplicasOrTheFallback(_ fixture: ReplicaCase) {
        let plan = Self.plan(fixture.topology, confirmed: fixture.confirmed, health: fixture.health)
        let route = plan.routes[fixture.listener]
        #expect(route?.state == fixture.state)
        #expect(route?.servers.map(\.name) == fixture.servers)
        #expect(route?.closesStaleSessions == true)
        let rows = plan.eligibility[fixture.listener] ?? []
        for expected in fixture.rows {
            #expect(rows.first { $0.member == expected.member } == expected)
        }
    }

    // MARK: Static

    @Test func staticListenersRouteToTheirServersAndKeepSessions() {
        let servers = [Endpoint(host: "db1", port: 5432), Endpoint(host: "::1", port: 6432)]
        let listeners = [
            ListenerConfiguration(name: "s", bind: Endpoint(host: "0.0.0.0", port: 6000), servers: servers),
            ListenerConfiguration(name: "empty", bind: Endpoint(host: "0.0.0.0", port: 6001)),
        ]
        let plan = Self.plan(nil, listeners: listeners)
        #expect(plan.routes["s"] == ListenerRoute(state: .ready, servers: [
            RouteServer(name: "db1:5432", endpoint: servers[0]), RouteServer(name: "[::1]:6432", endpoint: servers[1]),
        ], closesStaleSessions: false))
        #expect(plan.routes["empty"]?.state == .unavailable(reason: "no servers configured"))
        #expect(plan.eligibility.isEmpty)
    }

    // MARK: Generations

    /// Plans a sequence of situations with one generation state, as the runtime does.
    struct Timeline {
        var generations = RouteGenerations()
        mutating func step(_ topology: Topology?, confirmed: String?, health: DiscoveryHealth = .live) -> RoutePlan {
            RoutePlanner.plan(
                listeners: RoutePlannerTests.listeners, topology: topology,
                promotion: PromotionState(confirmedLeader: confirmed, discovery: health), generations: &generations
            )
        }
    }

    static func generation(_ plan: RoutePlan, _ listener: String, _ member: String) -> UInt64? {
        plan.routes[listener]?.servers.first { $0.name == member }?.generation
    }

    @Test func planningTheSameSituationAgainKeepsEveryGeneration() {
        var timeline = Timeline()
        let first = timeline.step(Self.cluster(), confirmed: "pg-0")
        let second = timeline.step(Self.cluster(), confirmed: "pg-0")
        #expect(first == second)
        #expect(Self.generation(first, "primary", "pg-0") != nil)
    }

    @Test func eachNewLeaderTermGetsANewerGenerationEvenForTheSameMember() {
        var timeline = Timeline()
        let term1 = Self.generation(timeline.step(Self.cluster(), confirmed: "pg-0"), "primary", "pg-0")
        // Failover to pg-1: held until confirmed, then a new term.
        #expect(timeline.step(Self.cluster(leader: "pg-1"), confirmed: "pg-0").routes["primary"]?.servers == [])
        let term2 = Self.generation(timeline.step(Self.cluster(leader: "pg-1"), confirmed: "pg-1"), "primary", "pg-1")
        // Back to pg-0 (a switchover back): newer again, so nothing from term 1 survives.
        _ = timeline.step(Self.cluster(), confirmed: "pg-1")
        let term3 = Self.generation(timeline.step(Self.cluster(), confirmed: "pg-0"), "primary", "pg-0")
        // A ZooKeeper expiry in between ends the term too.
        _ = timeline.step(Self.cluster(), confirmed: "pg-0", health: .expired)
        let term4 = Self.generation(timeline.step(Self.cluster(), confirmed: "pg-0"), "primary", "pg-0")
        let terms = [term1, term2, term3, term4].compactMap { $0 }
        #expect(terms.count == 4)
        #expect(terms == terms.sorted() && Set(terms).count == 4)
    }

    @Test func aLeaderWhoseAddressChangesStartsANewTerm() {
        var timeline = Timeline()
        let before = Self.generation(timeline.step(Self.cluster(), confirmed: "pg-0"), "primary", "pg-0")
        let moved = Self.cluster([Self.member("pg-0", role: .primary, port: 7000), Self.member("pg-1")])
        let plan = timeline.step(moved, confirmed: "pg-0")
        #expect(plan.routes["primary"]?.servers.first?.endpoint.port == 7000)
        #expect(Self.generation(plan, "primary", "pg-0").map { $0 > before ?? 0 } == true)
    }

    @Test func aReplicaThatLeavesAndReturnsGetsANewGenerationWhileOthersKeepTheirs() {
        var timeline = Timeline()
        let start = timeline.step(Self.cluster(), confirmed: "pg-0")
        let stopped = Self.cluster([Self.member("pg-0", role: .primary), Self.member("pg-1", state: "stopped"), Self.member("pg-2")])
        let away = timeline.step(stopped, confirmed: "pg-0")
        let back = timeline.step(Self.cluster(), confirmed: "pg-0")
        #expect(Self.generation(away, "replicas", "pg-1") == nil)
        #expect(Self.generation(away, "replicas", "pg-2") == Self.generation(start, "replicas", "pg-2"))
        #expect(Self.generation(back, "replicas", "pg-2") == Self.generation(start, "replicas", "pg-2"))
        let returned = Self.generation(back, "replicas", "pg-1")
        let original = Self.generation(start, "replicas", "pg-1")
        #expect(returned != nil && original != nil && returned != original)
    }

    @Test func aReplicaOutForLagOnlyKeepsItsSessionsAndItsGenerationUnlessTheListenerClosesOnLag() {
        var timeline = Timeline()
        let start = timeline.step(Self.cluster(), confirmed: "pg-0")
        let lagging = Self.cluster([Self.member("pg-0", role: .primary), Self.member("pg-1", xlog: 0), Self.member("pg-2")])
        let away = timeline.step(lagging, confirmed: "pg-0")
        let back = timeline.step(Self.cluster(), confirmed: "pg-0")
        let original = Self.generation(start, "replicas", "pg-1")
        #expect(Self.generation(away, "replicas", "pg-1") == nil)
        #expect(away.routes["replicas"]?.draining.map(\.name) == ["pg-1"])
        #expect(away.routes["replicas"]?.draining.first?.generation == original)
        #expect(Self.generation(back, "replicas", "pg-1") == original)
        // The listener without max_lag never lost pg-1.
        #expect(Self.generation(back, "unlimited", "pg-1") == Self.generation(start, "unlimited", "pg-1"))

        var closing = RouteGenerations()
        let listener = ListenerConfiguration(
            name: "strict-lag", bind: Endpoint(host: "0.0.0.0", port: 5440), role: .replica, maxLag: LagLimit(bytes: 16 << 20),
            closeOnLag: true)
        func plan(_ topology: Topology) -> RoutePlan {
            RoutePlanner.plan(listeners: [listener], topology: topology, promotion: PromotionState(confirmedLeader: "pg-0"),
                              generations: &closing)
        }
        let first = plan(Self.cluster()).routes["strict-lag"]?.servers.first { $0.name == "pg-1" }
        let out = plan(lagging).routes["strict-lag"]
        #expect(out?.draining == [])
        #expect(out?.servers.contains { $0.name == "pg-1" } == false)
        let returned = plan(Self.cluster()).routes["strict-lag"]?.servers.first { $0.name == "pg-1" }
        #expect(first != nil && returned != nil && first?.generation != returned?.generation)
    }

    @Test func aReplicaPromotedToLeaderIsStaleForReadsAndNewForWrites() {
        var timeline = Timeline()
        let before = timeline.step(Self.cluster([Self.member("pg-0", role: .primary), Self.member("pg-1")]), confirmed: "pg-0")
        let readGeneration = Self.generation(before, "replicas", "pg-1")
        // pg-0 gone, pg-1 promoted and confirmed: the read port falls back to pg-1 as leader.
        let after = timeline.step(Self.cluster(leader: "pg-1", [Self.member("pg-1", role: .primary)]), confirmed: "pg-1")
        let writeGeneration = Self.generation(after, "primary", "pg-1")
        #expect(after.routes["replicas"]?.servers == after.routes["primary"]?.servers)
        #expect(readGeneration != nil && writeGeneration != nil && readGeneration != writeGeneration)
    }

    @Test(arguments: [
        (0, "0B"), (512, "512B"), (1024, "1kB"), (1536, "1.5kB"), (20 << 20, "20MB"),
        ((16 << 20) + (1 << 19), "16.5MB"), (3 << 30, "3GB"),
    ] as [(UInt64, String)])
    func formatsByteCountsLikePatroni(bytes: UInt64, text: String) {
        #expect(ByteCount.format(bytes) == text)
    }
}
