@testable import SwitchmanCore
import Testing

/// A requested switchover: new primary sessions wait, live ones keep their server.
struct RoutePlannerSwitchoverTests {
    @Test func aSwitchoverInProgressHoldsNewPrimarySessionsButKeepsTheLeaderInTheRoute() {
        var generations = RouteGenerations()
        let topology = RoutePlannerTests.cluster()
        let before = RoutePlanner.plan(
            listeners: RoutePlannerTests.listeners, topology: topology,
            promotion: PromotionState(confirmedLeader: "pg-0"), generations: &generations)
        let during = RoutePlanner.plan(
            listeners: RoutePlannerTests.listeners, topology: topology,
            promotion: PromotionState(confirmedLeader: "pg-0", switchoverInProgress: true), generations: &generations)
        #expect(before.routes["primary"]?.state == .ready)
        guard case .hold(let reason)? = during.routes["primary"]?.state else {
            Issue.record("primary route should hold during a switchover")
            return
        }
        #expect(reason.contains("switchover from pg-0"))
        // Same server, same generation: no live session is closed by the hold.
        #expect(during.routes["primary"]?.servers == before.routes["primary"]?.servers)
        // Reads are not affected.
        #expect(during.routes["replicas"] == before.routes["replicas"])
    }

    @Test func theFailoverZnodeBecomesAPendingSwitchover() {
        let immediate = Topology(scope: "s", znodes: PatroniZNodes(
            leader: Array("pg-0".utf8), failover: Array(#"{"leader": "pg-0", "member": "pg-1"}"#.utf8)))
        #expect(immediate.pendingSwitchover == PendingSwitchover(from: "pg-0", to: "pg-1", scheduled: false))
        let later = Topology(scope: "s", znodes: PatroniZNodes(
            failover: Array(#"{"leader": "pg-0", "scheduled_at": "2026-11-27T03:00:00+00:00"}"#.utf8)))
        #expect(later.pendingSwitchover?.scheduled == true)
        // Patroni leaves the znode empty after a switchover; garbage says nothing either.
        for done in ["", "{}", #"{"leader": "", "member": ""}"#, "not json"] {
            #expect(Topology(scope: "s", znodes: PatroniZNodes(failover: Array(done.utf8))).pendingSwitchover == nil)
        }
        #expect(Topology(scope: "s", znodes: PatroniZNodes()).pendingSwitchover == nil)
    }
}
