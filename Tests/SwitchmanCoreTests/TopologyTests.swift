@testable import SwitchmanCore
import Testing

/// Member JSON and whole pictures from znode fixtures of Patroni 3.0.2 and 4.x.
struct TopologyTests {
    static let patroni3Master = #"{"conn_url":"postgres://127.0.0.1:5434/postgres","api_url":"http://127.0.0.1:8009/patroni","state":"running","role":"master","version":"3.0.2","xlog_location":50331648,"timeline":1}"#
    static let patroni3Replica = #"{"conn_url":"postgres://127.0.0.1:5435/postgres","api_url":"http://127.0.0.1:8010/patroni","state":"running","role":"replica","version":"3.0.2","xlog_location":50331000,"timeline":1}"#
    static let patroni4Primary = #"{"conn_url":"postgres://10.0.0.11:5432/postgres","api_url":"http://10.0.0.11:8008/patroni","state":"running","role":"primary","version":"4.0.4","xlog_location":67109192,"timeline":2}"#
    static let patroni4Replica = #"{"conn_url":"postgres://10.0.0.12:5432/postgres","api_url":"http://10.0.0.12:8008/patroni","state":"running","role":"replica","version":"4.0.4","xlog_location":67108864,"replication_state":"streaming","timeline":2,"tags":{"noloadbalance":true,"nofailover":true,"clonefrom":true,"failover_priority":0}}"#
    static let standbyLeader = #"{"conn_url":"postgres://[::1]:6432/postgres","api_url":"http://[::1]:8008/patroni","state":"running","role":"standby_leader","version":"4.0.4","xlog_location":1000,"timeline":3}"#

    struct MemberCase: CustomTestStringConvertible, Sendable {
        let label: String
        let json: String
        let expected: ClusterMember
        var testDescription: String { label }
    }

    static let memberCases: [MemberCase] = [
        MemberCase(label: "Patroni 3.0.2 master", json: patroni3Master, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "127.0.0.1", port: 5434), apiURL: "http://127.0.0.1:8009/patroni",
            role: .primary, state: "running", timeline: 1, xlogLocation: 50_331_648, version: "3.0.2"
        )),
        MemberCase(label: "Patroni 3.0.2 replica", json: patroni3Replica, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "127.0.0.1", port: 5435), apiURL: "http://127.0.0.1:8010/patroni",
            role: .replica, state: "running", timeline: 1, xlogLocation: 50_331_000, version: "3.0.2"
        )),
        MemberCase(label: "Patroni 4.x primary", json: patroni4Primary, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "10.0.0.11", port: 5432), apiURL: "http://10.0.0.11:8008/patroni",
            role: .primary, state: "running", timeline: 2, xlogLocation: 67_109_192, version: "4.0.4"
        )),
        MemberCase(label: "Patroni 4.x replica with tags", json: patroni4Replica, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "10.0.0.12", port: 5432), apiURL: "http://10.0.0.12:8008/patroni",
            role: .replica, state: "running", timeline: 2, xlogLocation: 67_108_864, replicationState: "streaming",
            tags: MemberTags(nofailover: true, noloadbalance: true, other: ["clonefrom": "true", "failover_priority": "0"]),
            version: "4.0.4"
        )),
        MemberCase(label: "standby leader on IPv6", json: standbyLeader, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "::1", port: 6432), apiURL: "http://[::1]:8008/patroni",
            role: .standbyLeader, state: "running", timeline: 3, xlogLocation: 1000, version: "4.0.4"
        )),
        MemberCase(label: "minimal: no port, user info, query, postgresql scheme", json: #"{"conn_url":"postgresql://u:p@db.local/postgres?sslmode=require"}"#, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "db.local", port: 5432), role: .other(""), state: ""
        )),
        MemberCase(label: "starting, demoted, LSN as text, tags as text and numbers", json: #"{"conn_url":"postgres://h:1/","state":"starting","role":"demoted","xlog_location":"42","tags":{"nosync":"true","nostream":1,"noloadbalance":false}}"#, expected: ClusterMember(
            name: "m", endpoint: Endpoint(host: "h", port: 1), role: .demoted, state: "starting", xlogLocation: 42,
            tags: MemberTags(nosync: true, nostream: true)
        )),
    ]

    @Test(arguments: memberCases)
    func decodesMemberJSON(_ fixture: MemberCase) {
        #expect(ClusterMember.parse(name: "m", json: Array(fixture.json.utf8)) == .valid(fixture.expected))
    }

    @Test(arguments: [
        ("", "invalid JSON (0 bytes)"),
        (#"{"conn_url": "#, "invalid JSON (13 bytes)"),
        ("[]", "member data is not a JSON object"),
        (#""pg-0""#, "member data is not a JSON object"),
        ("{}", "no conn_url"),
        (#"{"conn_url": 5432}"#, "no conn_url"),
        (#"{"conn_url":"127.0.0.1:5432"}"#, "unusable conn_url 127.0.0.1:5432"),
        (#"{"conn_url":"postgres://h:notaport/db"}"#, "unusable conn_url postgres://h:notaport/db"),
        (#"{"conn_url":"postgres://h:70000/db"}"#, "unusable conn_url postgres://h:70000/db"),
        (#"{"conn_url":"postgres://[::1/db"}"#, "unusable conn_url postgres://[::1/db"),
        (#"{"conn_url":"postgres:///db"}"#, "unusable conn_url postgres:///db"),
    ])
    func keepsUndecodableMembersAsInvalidWithAReason(json: String, reason: String) {
        #expect(ClusterMember.parse(name: "m", json: Array(json.utf8)) == .invalid(reason: reason))
    }

    @Test(arguments: [
        ("master", MemberRole.primary), ("primary", .primary), ("Master", .primary), ("replica", .replica),
        ("standby_leader", .standbyLeader), ("demoted", .demoted), ("promoted", .promoted),
        ("uninitialized", .uninitialized), ("sync_standby", .other("sync_standby")),
    ])
    func mapsPatroni3And4RoleNames(text: String, role: MemberRole) {
        #expect(MemberRole(patroni: text) == role)
    }

    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func buildsThePictureFromZnodes() {
        let topology = Topology(scope: "demo", znodes: PatroniZNodes(
            leader: Self.bytes("pg-0\n"),
            members: ["pg-0": Self.bytes(Self.patroni3Master), "pg-1": Self.bytes(Self.patroni3Replica), "pg-2": Self.bytes("{oops")],
            status: Self.bytes(#"{"optime":50331700,"slots":{"pg_1":50331000},"retain_slots":["pg_1"]}"#),
            sync: Self.bytes(#"{"leader":"pg-0","sync_standby":"pg-1"}"#)
        ))
        #expect(topology.scope == "demo")
        #expect(topology.leaderName == "pg-0")
        #expect(topology.leader?.endpoint == Endpoint(host: "127.0.0.1", port: 5434))
        #expect(topology.members.count == 3)
        #expect(topology.members["pg-2"] == .invalid(reason: "invalid JSON (5 bytes)"))
        #expect(topology.leaderOptime == 50_331_700)
        #expect(topology.syncLeader == "pg-0")
        #expect(topology.syncStandbys == ["pg-1"])
        #expect(topology.isSyncStandby("pg-1"))
        #expect(!topology.isSyncStandby("pg-0"))
    }

    @Test(arguments: [
        (nil, nil), ("", nil), (" \n", nil), ("pg-1", "pg-1"), ("  pg-1\n", "pg-1"),
    ] as [(String?, String?)])
    func readsTheLeaderZnodeAsTrimmedText(raw: String?, leader: String?) {
        #expect(Topology(scope: "s", znodes: PatroniZNodes(leader: raw.map(Self.bytes))).leaderName == leader)
    }

    @Test(arguments: [
        (#"{"optime":100}"#, "50", 100),
        (nil, "50", 50),
        ("not json", "50\n", 50),
        (#"{"slots":{}}"#, nil, nil),
        (nil, nil, nil),
    ] as [(String?, String?, UInt64?)])
    func takesTheLeaderOptimeFromStatusElseFromTheOlderOptimeZnode(status: String?, legacy: String?, optime: UInt64?) {
        let znodes = PatroniZNodes(status: status.map(Self.bytes), legacyOptime: legacy.map(Self.bytes))
        #expect(Topology(scope: "s", znodes: znodes).leaderOptime == optime)
    }

    @Test(arguments: [
        (#"{"leader":"a","sync_standby":"b,c"}"#, ["b", "c"]),
        (#"{"leader":"a","sync_standby":null}"#, []),
        (#"{"leader":"a","sync_standby":["b"]}"#, ["b"]),
        // A list is cleaned as the comma-separated form is: names trimmed, empty ones dropped (the
        // Topology fuzzer found `["", "pg-2"]` kept its empty name).
        (#"{"leader":"a","sync_standby":["", " b ", 7, "c"]}"#, ["b", "c"]),
        ("garbage", []),
    ])
    func splitsTheSyncStandbyList(sync: String, standbys: [String]) {
        #expect(Topology(scope: "s", znodes: PatroniZNodes(sync: Self.bytes(sync))).syncStandbys == standbys)
    }

    static func member(_ name: String, role: MemberRole = .replica, xlog: UInt64?) -> ClusterMember {
        ClusterMember(name: name, endpoint: Endpoint(host: "h", port: 5432), role: role, state: "running", xlogLocation: xlog)
    }

    struct LagCase: Sendable, CustomTestStringConvertible {
        let label: String
        let topology: Topology
        let expected: [String: UInt64]
        var testDescription: String { label }
    }

    static let lagCases: [LagCase] = [
        LagCase(label: "optime ahead of the leader's xlog_location", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["a": .valid(member("a", role: .primary, xlog: 900)), "b": .valid(member("b", xlog: 400))],
            leaderOptime: 1000
        ), expected: ["b": 600]),
        LagCase(label: "leader's xlog_location fresher than status", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["a": .valid(member("a", role: .primary, xlog: 2000)), "b": .valid(member("b", xlog: 400))],
            leaderOptime: 1000
        ), expected: ["b": 1600]),
        LagCase(label: "replica ahead of the reference: never negative", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["a": .valid(member("a", role: .primary, xlog: 100)), "b": .valid(member("b", xlog: 400))]
        ), expected: ["b": 0]),
        LagCase(label: "unknown positions and invalid members have no lag", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["a": .valid(member("a", role: .primary, xlog: 100)), "b": .valid(member("b", xlog: nil)), "c": .invalid(reason: "x")]
        ), expected: [:]),
        LagCase(label: "no leader: measured against the most advanced member", topology: Topology(
            scope: "s",
            members: ["a": .valid(member("a", xlog: 1000)), "b": .valid(member("b", xlog: 400))],
            leaderOptime: 800
        ), expected: ["a": 0, "b": 600]),
        LagCase(label: "leader without member data: measured against the most advanced member", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["b": .valid(member("b", xlog: 400)), "c": .valid(member("c", xlog: 300))]
        ), expected: ["b": 0, "c": 100]),
        LagCase(label: "nothing to measure against", topology: Topology(
            scope: "s", leaderName: "a",
            members: ["b": .valid(member("b", xlog: nil))]
        ), expected: [:]),
    ]

    @Test(arguments: lagCases)
    func measuresReplicaLagInBytes(_ fixture: LagCase) {
        #expect(fixture.topology.lags == fixture.expected)
        #expect(fixture.topology.lag(of: fixture.topology.leaderName ?? "none") == nil)
    }
}
