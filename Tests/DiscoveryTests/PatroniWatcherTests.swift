@testable import Discovery
import Foundation
import Logging
import Synchronization
import SwitchmanCore
import Testing

/// The watcher against a real ZooKeeper (Debian's `zookeeper` package) started by each test on loopback.
/// Serialized: each test runs a JVM, and the machine is small.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct PatroniWatcherTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.discovery")
        logger.logLevel = .info
        return logger
    }()

    @Test func readsTheWholeClusterOnConnectThenReportsLive() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c1")
        try fixture.seedTwoNodes()

        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c1", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }

        #expect(await events.waitUntil { $0.contains(.session(.live, detail: "connected to ZooKeeper; cluster picture read")) })
        // The complete picture arrives before `.live`.
        let all = events.all
        guard case .topology(let topology)? = all.first else {
            Issue.record("first event is not a topology: \(all)")
            return
        }
        #expect(topology.leaderName == "pg-0")
        #expect(topology.members.keys.sorted() == ["pg-0", "pg-1"])
        #expect(topology.leader?.role == .primary)
        #expect(topology.members["pg-1"]?.member?.endpoint == Endpoint(host: "127.0.0.1", port: 5433))
        #expect(topology.leaderOptime == 50_331_648)
        #expect(topology.syncStandbys == ["pg-1"])
        #expect(all.count == 2)
        #expect(watcher.health == .live)
    }

    @Test func aFailedReadIsFollowedByAResyncSoThePictureDoesNotFreeze() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c9")
        try fixture.seedTwoNodes()
        let events = EventLog()
        // While `failing` is set, every read of the leader znode answers ZCONNECTIONLOSS (-4).
        let failing = Atomic<Bool>(false)
        let watcher = PatroniWatcher(
            configuration: .test(port: server.port, scope: "c9", sessionTimeout: .seconds(4)), logger: Self.logger,
            localExpiry: true, retryDelay: .seconds(1),
            readFault: { node in failing.load(ordering: .relaxed) && node == .leader ? -4 : nil }, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitForTopology { $0.leaderName == "pg-0" })

        failing.store(true, ordering: .relaxed)
        try fixture.setLeader("pg-1")
        // The change cannot be read: nothing half-read is published meanwhile.
        #expect(!(await events.waitForTopology(timeout: .seconds(2)) { $0.leaderName == "pg-1" }))
        failing.store(false, ordering: .relaxed)
        // No reconnect happens; the resync alone brings the new leader.
        #expect(await events.waitForTopology(timeout: .seconds(20)) { $0.leaderName == "pg-1" })
        #expect(watcher.health == .live)
    }

    @Test func seesEveryLeaderChangeBecauseEachEventReArmsItsWatch() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c2")
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c2", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitForTopology { $0.leaderName == "pg-0" })

        // Changes, deletion (no data watch survives it: an exists watch must take over) and re-creation.
        let steps: [(String, () throws -> Void)] = [
            ("pg-1", { try fixture.setLeader("pg-1") }),
            ("pg-0", { try fixture.setLeader("pg-0") }),
            ("", { try fixture.writer.delete("\(fixture.base)/leader") }),
            ("pg-1", { try fixture.writer.create("\(fixture.base)/leader", "pg-1") }),
            ("pg-0", { try fixture.setLeader("pg-0\n") }),
            ("", { try fixture.writer.delete("\(fixture.base)/leader") }),
            ("pg-1", { try fixture.writer.create("\(fixture.base)/leader", "pg-1") }),
        ]
        for (expected, step) in steps {
            try step()
            let seen = await events.waitForTopology { ($0.leaderName ?? "") == expected }
            #expect(seen, "leader \(expected.isEmpty ? "none" : expected) not seen")
        }
        let leaders = events.all.compactMap { event -> String? in
            if case .topology(let topology) = event { return topology.leaderName ?? "" }
            return nil
        }
        #expect(leaders == ["pg-0"] + steps.map(\.0))
    }

    @Test func followsMembersAddedChangedMadeInvalidAndRemoved() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c3")
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c3", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitForTopology { $0.members.count == 2 })

        try fixture.addMember("pg-2", port: 5434, xlog: 50_000_000)
        #expect(await events.waitForTopology { $0.members["pg-2"]?.member?.endpoint.port == 5434 })
        #expect(events.lastTopology?.lag(of: "pg-2") == 331_648)

        try fixture.setMember("pg-1", port: 5433, state: "stopped", xlog: 40_000_000)
        #expect(await events.waitForTopology { $0.members["pg-1"]?.member?.state == "stopped" })
        #expect(events.lastTopology?.lag(of: "pg-1") == 10_331_648)

        try fixture.writer.set("\(fixture.base)/status", #"{"optime":60331648}"#)
        #expect(await events.waitForTopology { $0.leaderOptime == 60_331_648 })
        #expect(events.lastTopology?.lag(of: "pg-1") == 20_331_648)

        try fixture.writer.set("\(fixture.base)/members/pg-2", "{not json")
        #expect(await events.waitForTopology { $0.members["pg-2"]?.invalidReason != nil })

        try fixture.writer.delete("\(fixture.base)/members/pg-2")
        #expect(await events.waitForTopology { $0.members["pg-2"] == nil && $0.members.count == 2 })

        // Re-added under the same name: the children watch was re-armed too.
        try fixture.addMember("pg-2", port: 5435)
        #expect(await events.waitForTopology { $0.members["pg-2"]?.member?.endpoint.port == 5435 })

        try fixture.writer.set("\(fixture.base)/sync", #"{"leader":"pg-0","sync_standby":null}"#)
        #expect(await events.waitForTopology { $0.syncStandbys.isEmpty })
        #expect(events.healths == [.live])
    }

    @Test func startsOnAnEmptyNamespaceAndSeesTheClusterAppear() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c4", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitUntil { $0.contains { if case .session(.live, _) = $0 { true } else { false } } })
        #expect(events.lastTopology == Topology(scope: "c4"))

        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c4")
        try fixture.seedTwoNodes()
        #expect(await events.waitForTopology { $0.leaderName == "pg-0" && $0.members.count == 2 && $0.leaderOptime != nil })
    }

    @Test func startedWhileZooKeeperIsUnreachableItReportsNoPictureThenReadsTheClusterOnceZooKeeperComes() async throws {
        let server = try ZooKeeperServer()  // its port chosen, nothing listening yet
        defer { server.stop() }
        let events = EventLog()
        let watcher = PatroniWatcher(
            configuration: .test(port: server.port, scope: "c10", sessionTimeout: .seconds(4)), logger: Self.logger,
            localExpiry: true, retryDelay: .milliseconds(200), onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        try await Task.sleep(for: .seconds(1.5))
        #expect(watcher.health != .live)
        #expect(events.lastTopology == nil, "a picture was published without ZooKeeper: \(events.all)")

        try server.start()
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c10")
        try fixture.seedTwoNodes()
        #expect(await events.waitForTopology(timeout: .seconds(30)) { $0.leaderName == "pg-0" && $0.members.count == 2 })
        #expect(await events.waitUntil(timeout: .seconds(30)) { _ in watcher.health == .live })
    }

    @Test func keepsThePictureWhileZooKeeperRestartsAndResyncsInTheSameSession() async throws {
        let server = try ZooKeeperServer(tickTime: 500)
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c5")
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c5", sessionTimeout: .seconds(9)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitUntil { _ in watcher.health == .live })
        let session = watcher.sessionID

        server.stop()
        #expect(await events.waitUntil { _ in events.healths.last == .reconnecting })
        let before = events.lastTopology
        try server.start()
        #expect(await events.waitUntil { _ in events.healths == [.live, .reconnecting, .live] })
        #expect(watcher.sessionID == session, "the session survives a restart shorter than its timeout")
        #expect(watcher.core.handlesOpened == 1)
        #expect(events.lastTopology == before)

        // And the watches still fire afterwards.
        let writer = try ZNodeWriter(port: server.port)
        try writer.set("/service/c5/leader", "pg-1")
        #expect(await events.waitForTopology { $0.leaderName == "pg-1" })
    }

    @Test func reReadsWhatChangedWhileDisconnectedWithinTheSessionTimeout() async throws {
        let server = try ZooKeeperServer(tickTime: 200)
        try server.start()
        defer { server.stop() }
        let forwarder = try TCPForwarder(targetPort: server.port)
        defer { forwarder.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c6")
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: forwarder.port, scope: "c6", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitUntil { _ in watcher.health == .live })
        let session = watcher.sessionID

        forwarder.cut()
        #expect(await events.waitUntil { _ in events.healths.last == .reconnecting })
        try fixture.setLeader("pg-1")
        try fixture.addMember("pg-2", port: 5434)
        #expect(events.lastTopology?.leaderName == "pg-0", "nothing is seen while cut off")
        forwarder.restore()
        #expect(await events.waitUntil { _ in events.healths.last == .live })
        #expect(events.lastTopology?.leaderName == "pg-1")
        #expect(events.lastTopology?.members.count == 3)
        #expect(watcher.sessionID == session)
        #expect(watcher.core.handlesOpened == 1)
    }

    @Test(arguments: [true, false])
    func sessionExpiryOpensANewHandleAndReadsEverythingAgain(localExpiry: Bool) async throws {
        let server = try ZooKeeperServer(tickTime: 200)
        try server.start()
        defer { server.stop() }
        let forwarder = try TCPForwarder(targetPort: server.port)
        defer { forwarder.stop() }
        let scope = localExpiry ? "c7" : "c8"
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: scope)
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(
            configuration: .test(port: forwarder.port, scope: scope, sessionTimeout: .seconds(2)),
            logger: Self.logger, localExpiry: localExpiry, retryDelay: .milliseconds(200), onEvent: events.callback
        )
        watcher.start()
        defer { watcher.stop() }
        #expect(await events.waitUntil { _ in watcher.health == .live })
        let session = watcher.sessionID

        forwarder.cut()
        try fixture.setLeader("pg-1")
        try fixture.writer.delete("\(fixture.base)/members/pg-0")
        if localExpiry {
            // The client itself gives the session up once the timeout has passed without contact.
            #expect(await events.waitUntil(timeout: .seconds(10)) { _ in events.healths.last == .expired })
            #expect(events.lastTopology?.leaderName == "pg-0")
        } else {
            // Long enough for the server to expire the session; the client learns it on reconnect.
            try await Task.sleep(for: .seconds(3.5))
            #expect(events.healths.last == .reconnecting)
        }
        forwarder.restore()
        #expect(await events.waitUntil(timeout: .seconds(15)) { _ in events.healths.last == .live })
        #expect(events.healths == [.live, .reconnecting, .expired, .live])
        #expect(watcher.core.handlesOpened == 2)
        #expect(watcher.sessionID != nil && watcher.sessionID != session)
        // The fresh picture comes before `.live`, complete.
        let all = events.all
        let expired = all.lastIndex { if case .session(.expired, _) = $0 { true } else { false } } ?? 0
        let fresh = all[expired...].compactMap { event -> Topology? in
            if case .topology(let topology) = event { return topology }
            return nil
        }
        #expect(fresh.count == 1)
        #expect(fresh.first?.leaderName == "pg-1")
        #expect(fresh.first?.members.keys.sorted() == ["pg-1"])

        // Watches work on the new handle.
        try fixture.setLeader("pg-2")
        #expect(await events.waitForTopology { $0.leaderName == "pg-2" })
    }

    @Test func digestAuthReadsNodesOnlyItsUserMayRead() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port, digest: "patroni:secret"), scope: "c9")
        try fixture.seedTwoNodes(access: .creatorOnly)

        let allowed = EventLog()
        let watcher = PatroniWatcher(
            configuration: .test(port: server.port, scope: "c9", sessionTimeout: .seconds(4), auth: "digest:patroni:secret"),
            logger: Self.logger, onEvent: allowed.callback
        )
        watcher.start()
        defer { watcher.stop() }
        #expect(await allowed.waitForTopology { $0.leaderName == "pg-0" && $0.members.count == 2 })

        let refused = EventLog()
        let anonymous = PatroniWatcher(configuration: .test(port: server.port, scope: "c9", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: refused.callback)
        anonymous.start()
        defer { anonymous.stop() }
        // The log's own `.live` (the watcher's health turns live before the events reach the log).
        #expect(await refused.waitUntil { events in events.contains { if case .session(.live, _) = $0 { true } else { false } } })
        #expect(refused.lastTopology?.leaderName == nil)
        #expect(refused.lastTopology?.members.isEmpty == true)
    }

    @Test func stopEndsDeliveryAndClosesTheSession() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let fixture = PatroniFixture(writer: try ZNodeWriter(port: server.port), scope: "c10")
        try fixture.seedTwoNodes()
        let events = EventLog()
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c10", sessionTimeout: .seconds(4)), logger: Self.logger, onEvent: events.callback)
        watcher.start()
        #expect(await events.waitUntil { _ in watcher.health == .live })
        watcher.stop()
        watcher.stop()
        let count = events.all.count
        try fixture.setLeader("pg-1")
        try await Task.sleep(for: .milliseconds(500))
        #expect(events.all.count == count)
    }

    @Test func stopCalledFromTheEventCallbackDoesNotDeadlock() async throws {
        let server = try ZooKeeperServer()
        try server.start()
        defer { server.stop() }
        let box = Mutex<PatroniWatcher?>(nil)
        let calls = Mutex(0)
        let watcher = PatroniWatcher(configuration: .test(port: server.port, scope: "c11", sessionTimeout: .seconds(4)), logger: Self.logger) { _ in
            calls.withLock { $0 += 1 }
            box.withLock { $0 }?.stop()
        }
        box.withLock { $0 = watcher }
        watcher.start()
        let events = EventLog()
        #expect(await events.waitUntil { _ in calls.withLock { $0 } >= 1 })
        // A topology and `.live` were queued together; delivery stops after the event that called stop().
        try await Task.sleep(for: .milliseconds(300))
        #expect(calls.withLock { $0 } == 1)
        watcher.stop()
        box.withLock { $0 = nil }
    }
}
