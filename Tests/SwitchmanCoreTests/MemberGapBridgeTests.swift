import SwitchmanCore
import Testing

struct MemberGapBridgeTests {
    private func member(_ name: String, port: Int, role: String) -> MemberEntry {
        ClusterMember.parse(name: name, json: Array("""
            {"conn_url":"postgres://127.0.0.1:\(port)/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"\(role)","version":"3.0.2","xlog_location":100,"timeline":2}
            """.utf8))
    }

    @Test func theLeadersDataStandsInWhileTheLeaderZnodeNamesIt() {
        var bridge = MemberGapBridge(graceNanoseconds: 1_000)
        let full = Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "master"), "b": member("b", port: 2, role: "replica")])
        _ = bridge.bridge(full, now: 0)
        // Patroni re-creates a's znode: for a moment it is missing, long after the grace.
        let gap = Topology(scope: "s", leaderName: "a", members: ["b": member("b", port: 2, role: "replica")])
        let (filled, bridged, expires) = bridge.bridge(gap, now: 1_000_000)
        #expect(filled.members["a"] == full.members["a"])
        #expect(bridged == ["a"])
        #expect(expires == nil)
        #expect(filled.leader?.name == "a")
    }

    @Test func aMissingReplicaKeepsItsDataOnlyForTheGrace() {
        var bridge = MemberGapBridge(graceNanoseconds: 1_000)
        let full = Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "master"), "b": member("b", port: 2, role: "replica")])
        _ = bridge.bridge(full, now: 10)
        let gap = Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "master")])
        let within = bridge.bridge(gap, now: 500)
        #expect(within.topology.members["b"] != nil)
        #expect(within.expires == 1_010)
        let after = bridge.bridge(gap, now: 1_010)
        #expect(after.topology.members["b"] == nil)
        #expect(after.bridged.isEmpty)
    }

    @Test func presentDataWinsAndInvalidDataIsNeverReplaced() {
        var bridge = MemberGapBridge(graceNanoseconds: 1_000)
        _ = bridge.bridge(Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "replica")]), now: 0)
        let promoted = Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "master")])
        #expect(bridge.bridge(promoted, now: 5).topology == promoted)
        let broken = Topology(scope: "s", leaderName: "a", members: ["a": .invalid(reason: "bad JSON")])
        #expect(bridge.bridge(broken, now: 6).topology == broken)
        // Invalid data also forgets the last good data: a later gap stays a gap.
        let gap = Topology(scope: "s", leaderName: "a", members: [:])
        #expect(bridge.bridge(gap, now: 7).topology.members.isEmpty)
    }

    @Test func aLeaderThatLostTheLeaderZnodeIsNotBridgedPastTheGrace() {
        var bridge = MemberGapBridge(graceNanoseconds: 1_000)
        _ = bridge.bridge(Topology(scope: "s", leaderName: "a", members: ["a": member("a", port: 1, role: "master")]), now: 0)
        let gone = Topology(scope: "s", leaderName: nil, members: [:])
        #expect(bridge.bridge(gone, now: 2_000).topology.members.isEmpty)
    }
}
