import SwitchmanCore
import Testing

/// `GET /patroni` bodies as Patroni 3.0.2 writes them, decoded into ``PatroniStatus``.
struct PatroniStatusTests {
    static let primaryBody = """
        {"state": "running", "postmaster_start_time": "2024-01-15 10:00:00.123456+00:00", "role": "master", \
        "server_version": 150010, "xlog": {"location": 50331648}, "timeline": 1, \
        "replication": [{"usename": "replicator", "application_name": "pg-1", "client_addr": "127.0.0.1", \
        "state": "streaming", "sync_state": "async", "sync_priority": 0}], "dcs_last_seen": 1700000000, \
        "database_system_identifier": "7324126813451234567", "patroni": {"version": "3.0.2", "scope": "demo"}}
        """

    static let replicaBody = """
        {"state": "running", "postmaster_start_time": "2024-01-15 10:00:05.654321+00:00", "role": "replica", \
        "server_version": 150010, "xlog": {"received_location": 50331648, "replayed_location": 50331480, \
        "replayed_timestamp": "2024-01-15 10:05:00.000+00:00", "paused": false}, "timeline": 1, \
        "replication_state": "streaming", "dcs_last_seen": 1700000000, \
        "database_system_identifier": "7324126813451234567", "patroni": {"version": "3.0.2", "scope": "demo"}}
        """

    @Test func readsAPrimarysStatusDocument() throws {
        let status = try PatroniStatus(json: Array(Self.primaryBody.utf8))
        #expect(status == PatroniStatus(state: "running", role: .primary, timeline: 1, serverVersion: 150010, xlogLocation: 50_331_648))
        #expect(status.pendingRestart == nil)
        #expect(status.replayPaused == nil)
    }

    @Test func readsAReplicasReceivedAndReplayedLocations() throws {
        let status = try PatroniStatus(json: Array(Self.replicaBody.utf8))
        #expect(status == PatroniStatus(
            state: "running", role: .replica, timeline: 1, serverVersion: 150010, receivedLocation: 50_331_648,
            replayedLocation: 50_331_480, replayPaused: false, replicationState: "streaming"))
    }

    @Test func readsPausedReplayAndAPendingRestart() throws {
        let body = #"{"state": "running", "role": "replica", "pending_restart": true, "xlog": {"received_location": 100, "replayed_location": 50, "paused": true}}"#
        let status = try PatroniStatus(json: Array(body.utf8))
        #expect(status.replayPaused == true)
        #expect(status.pendingRestart == true)
    }

    @Test func readsPatroni4sPrimaryRole() throws {
        #expect(try PatroniStatus(json: Array(#"{"role": "primary", "state": "running"}"#.utf8)).role == .primary)
    }

    @Test func readsLocationsWrittenAsDecimalText() throws {
        let status = try PatroniStatus(json: Array(#"{"xlog": {"location": "50331648"}, "timeline": "3"}"#.utf8))
        #expect(status.xlogLocation == 50_331_648)
        #expect(status.timeline == 3)
    }

    @Test func treatsFieldsOfTheWrongTypeAsAbsent() throws {
        let body = #"{"state": 1, "role": ["master"], "timeline": -1, "server_version": 1.5, "xlog": "nope", "replication_state": null}"#
        #expect(try PatroniStatus(json: Array(body.utf8)) == PatroniStatus())
    }

    @Test func ignoresUnknownFieldsAndAnEmptyObject() throws {
        #expect(try PatroniStatus(json: Array(#"{"cluster_unlocked": false, "failsafe_mode_is_active": true}"#.utf8)) == PatroniStatus())
        #expect(try PatroniStatus(json: Array("{}".utf8)) == PatroniStatus())
    }

    @Test func rejectsABodyThatIsNotJSON() {
        #expect(throws: PatroniStatus.ParseError.invalidJSON(byteCount: 15)) { try PatroniStatus(json: Array("<html>503</html".utf8)) }
    }

    @Test func rejectsJSONThatIsNotAnObject() {
        #expect(throws: PatroniStatus.ParseError.notAnObject) { try PatroniStatus(json: Array(#"["running"]"#.utf8)) }
    }
}
