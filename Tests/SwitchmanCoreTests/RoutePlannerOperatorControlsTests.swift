@testable import SwitchmanCore
import Testing

/// Operator controls as a planner input: drain, maint and ready of members, pause of listeners, and
/// the leader znode winning over a drain.
struct RoutePlannerOperatorControlsTests {
    typealias Fixture = RoutePlannerTests

    static func plan(
        _ controls: OperatorControls, topology: Topology = Fixture.cluster(), confirmed: String? = "pg-0",
        listeners: [ListenerConfiguration] = [Fixture.primary, Fixture.unlimited], generations: inout RouteGenerations
    ) -> RoutePlan {
        RoutePlanner.plan(
            listeners: listeners, topology: topology, promotion: PromotionState(confirmedLeader: confirmed, discovery: .live),
            controls: controls, generations: &generations)
    }

    static func plan(_ controls: OperatorControls, topology: Topology = Fixture.cluster(), confirmed: String? = "pg-0") -> RoutePlan {
        var generations = RouteGenerations()
        return plan(controls, topology: topology, confirmed: confirmed, generations: &generations)
    }

    static func row(_ plan: RoutePlan, _ listener: String, _ member: String) -> MemberEligibility? {
        plan.eligibility[listener]?.first { $0.member == member }
    }

    static func drained(_ member: String, _ state: MemberAdminState = .drain) -> OperatorControls {
        var controls = OperatorControls()
        controls.set(state, for: member)
        return controls
    }

    @Test("a drained replica takes no new replica sessions but its open ones stay (draining, same generation)")
    func drainedReplicaLeavesTheServersButKeepsItsSessions() throws {
        var generations = RouteGenerations()
        let before = Self.plan(OperatorControls(), generations: &generations)
        let pg1 = try #require(before.routes["unlimited"]?.servers.first { $0.name == "pg-1" })
        let after = Self.plan(Self.drained("pg-1"), generations: &generations)
        let route = try #require(after.routes["unlimited"])
        #expect(route.servers.map(\.name) == ["pg-2"])
        #expect(route.draining == [pg1])
        #expect(Self.row(after, "unlimited", "pg-1") == MemberEligibility(member: "pg-1", status: .drain, reason: "drained by an operator"))
    }

    @Test("ready brings a drained replica back with its generation, so its open sessions are not stale")
    func readyRestoresTheSameRouteServer() throws {
        var generations = RouteGenerations()
        let before = Self.plan(OperatorControls(), generations: &generations)
        _ = Self.plan(Self.drained("pg-1"), generations: &generations)
        let back = Self.plan(OperatorControls(), generations: &generations)
        #expect(back.routes["unlimited"]?.servers == before.routes["unlimited"]?.servers)
        #expect(back.routes["unlimited"]?.draining == [])
        #expect(Self.row(back, "unlimited", "pg-1")?.status == .up)
    }

    @Test("ready after a drain that sent reads to the leader (fallback) keeps the reads already on the leader: it stays as draining for its term")
    func readyKeepsTheReadSessionsTheFallbackSentToTheLeader() throws {
        let topology = Fixture.cluster(leader: "pg-0", [Fixture.member("pg-0", role: .primary), Fixture.member("pg-1")])
        var generations = RouteGenerations()
        _ = Self.plan(OperatorControls(), topology: topology, generations: &generations)
        let drained = Self.plan(Self.drained("pg-1"), topology: topology, generations: &generations)
        let leader = try #require(drained.routes["primary"]?.servers.first)
        #expect(drained.routes["unlimited"]?.servers == [leader])
        let back = Self.plan(OperatorControls(), topology: topology, generations: &generations)
        let route = try #require(back.routes["unlimited"])
        #expect(route.servers.map(\.name) == ["pg-1"])
        // No new read session goes to the leader, but those open on it are not stale.
        #expect(route.draining == [leader], "the leader's open read sessions would be closed: \(route.draining)")
        // Still so a plan later (a check, a znode update), for as long as its term lasts.
        #expect(Self.plan(OperatorControls(), topology: topology, generations: &generations).routes["unlimited"]?.draining == [leader])
        // A new term of the leader (demoted, promoted again) is another server: the old one's sessions are stale.
        _ = Self.plan(OperatorControls(), topology: topology, confirmed: nil, generations: &generations)
        let newTerm = Self.plan(OperatorControls(), topology: topology, generations: &generations)
        #expect(newTerm.routes["primary"]?.servers.first != leader)
        #expect(newTerm.routes["unlimited"]?.draining == [])
    }

    @Test("maint shows MAINT, not DOWN, for a replica that is not running, and keeps it out of the route")
    func maintIsReportedInsteadOfDown() {
        let topology = Fixture.cluster(
            leader: "pg-0", [Fixture.member("pg-0", role: .primary), Fixture.member("pg-1", state: "stopped"), Fixture.member("pg-2")])
        let plain = Self.plan(OperatorControls(), topology: topology)
        #expect(Self.row(plain, "unlimited", "pg-1")?.status == .down)
        let maint = Self.plan(Self.drained("pg-1", .maint), topology: topology)
        #expect(Self.row(maint, "unlimited", "pg-1")?.status == .maint)
        #expect(Self.row(maint, "primary", "pg-1")?.status == .maint)
        #expect(maint.routes["unlimited"]?.servers.map(\.name) == ["pg-2"])
    }

    @Test("a drained member that is the confirmed leader still gets the writes, and its row says so")
    func leaderWinsOverDrain() throws {
        let plan = Self.plan(Self.drained("pg-0"))
        let route = try #require(plan.routes["primary"])
        #expect(route.state == .ready)
        #expect(route.servers.map(\.name) == ["pg-0"])
        #expect(Self.row(plan, "primary", "pg-0") == MemberEligibility(member: "pg-0", status: .up, reason: "drained, but leader: writes go to it"))
    }

    @Test("a drained replica that becomes the leader gets the writes once confirmed")
    func drainedReplicaPromotedGetsWrites() throws {
        let promoted = Fixture.cluster(leader: "pg-1", [Fixture.member("pg-0"), Fixture.member("pg-1", role: .primary), Fixture.member("pg-2")])
        let plan = Self.plan(Self.drained("pg-1"), topology: promoted, confirmed: "pg-1")
        #expect(plan.routes["primary"]?.state == .ready)
        #expect(plan.routes["primary"]?.servers.map(\.name) == ["pg-1"])
        #expect(Self.row(plan, "primary", "pg-1")?.reason == "drained, but leader: writes go to it")
        #expect(Self.row(plan, "primary", "pg-1")?.status == .up)
    }

    @Test("a maint leader also keeps the writes")
    func leaderWinsOverMaint() {
        let plan = Self.plan(Self.drained("pg-0", .maint))
        #expect(plan.routes["primary"]?.servers.map(\.name) == ["pg-0"])
        #expect(Self.row(plan, "primary", "pg-0")?.reason == "in maintenance, but leader: writes go to it")
    }

    @Test("a paused primary listener holds new sessions and keeps the leader in the route, so open sessions stay")
    func pausedPrimaryHoldsWithTheLeaderKept() throws {
        var controls = OperatorControls()
        controls.setPaused(true, listener: "primary")
        let plan = Self.plan(controls)
        let route = try #require(plan.routes["primary"])
        #expect(route.state == .hold(reason: "paused by an operator"))
        #expect(route.servers.map(\.name) == ["pg-0"])
        #expect(plan.routes["unlimited"]?.state == .ready)
    }

    @Test("a paused listener keeps holding across a leader change, naming why; the old leader's sessions are closed")
    func pausedPrimaryDuringALeaderChange() throws {
        var controls = OperatorControls()
        controls.setPaused(true, listener: "primary")
        let plan = Self.plan(controls, confirmed: nil)
        let route = try #require(plan.routes["primary"])
        #expect(route.servers.isEmpty)
        guard case .hold(let reason) = route.state else {
            Issue.record("expected hold, got \(route.state)")
            return
        }
        #expect(reason.hasPrefix("paused by an operator (and leader pg-0 not yet confirmed"))
    }

    @Test("resume gives the listener its usual route back")
    func resumeRestoresTheRoute() {
        var controls = OperatorControls()
        controls.setPaused(true, listener: "unlimited")
        #expect(Self.plan(controls).routes["unlimited"]?.state == .hold(reason: "paused by an operator"))
        controls.setPaused(false, listener: "unlimited")
        #expect(Self.plan(controls) == Self.plan(OperatorControls()))
    }

    @Test("a drained replica that is already out for another reason keeps that reason, with the drain noted")
    func drainOnAnExcludedReplicaKeepsItsReason() {
        let topology = Fixture.cluster(
            leader: "pg-0", [Fixture.member("pg-0", role: .primary), Fixture.member("pg-1", tags: MemberTags(noloadbalance: true)), Fixture.member("pg-2")])
        let plan = Self.plan(Self.drained("pg-1"), topology: topology)
        #expect(Self.row(plan, "unlimited", "pg-1") == MemberEligibility(member: "pg-1", status: .excluded, reason: "noloadbalance; drained by an operator"))
    }

    @Test("setting a member ready forgets it, so the controls compare equal to none")
    func readyIsTheAbsenceOfAState() {
        var controls = OperatorControls()
        #expect(controls.set(.maint, for: "pg-1") == .ready)
        #expect(controls.set(.ready, for: "pg-1") == .maint)
        #expect(controls == OperatorControls())
    }
}
