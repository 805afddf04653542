@testable import Discovery
import Glibc
import Logging
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
import Testing

/// The coordinator fed member-check outcomes by hand (a fake ``MemberChecking``): what the write
/// and read routes do when the checks disagree with ZooKeeper, and while ZooKeeper is away.
struct ClusterCoordinatorHealthTests {
    final class FakeMembers: MemberChecking, @unchecked Sendable {
        // @unchecked: the lock guards everything.
        private let state = Mutex<(members: [String], fast: [String?])>(([], []))
        var members: [String] { state.withLock { $0.members } }
        var fast: [String?] { state.withLock { $0.fast } }
        func update(_ members: [ClusterMember]) { state.withLock { $0.members = members.map(\.name) } }
        func checkFast(_ name: String?) { state.withLock { $0.fast.append(name) } }
    }

    final class Routes: Sendable {
        let published = Mutex<[[String: ListenerRoute]]>([])
        func last(_ listener: String) -> ListenerRoute? { published.withLock { $0.last?[listener] } }
    }

    struct Harness {
        let coordinator: ClusterCoordinator
        let check: ClusterCoordinatorTests.FakeCheck
        let members: FakeMembers
        let routes: Routes
        let loop: EventLoop

        func sql(_ name: String, _ outcome: CheckOutcome, nodeDown: Bool = false) {
            loop.execute {
                coordinator.memberChecked(name, outcome, run: SQLCheckRun(started: loop.now, finished: loop.now, nodeDown: nodeDown))
            }
        }

        /// Waits until everything posted to the loop so far has run.
        func settle() {
            let marker = Mutex(false)
            loop.execute { marker.withLock { $0 = true } }
            _ = eventually { marker.withLock { $0 } }
        }

        func rest(_ name: String, path: String, status: Int?) {
            loop.execute { coordinator.memberAnsweredREST(name, RESTOutcome(path: path, status: status, error: status == nil ? "timed out" : nil)) }
        }

        var writes: ListenerRoute? { routes.last("primary") }
        var reads: ListenerRoute? { routes.last("replicas") }
    }

    static let primary = MemberReading(inRecovery: false, currentLSN: 100 << 20, serverTime: 1000)
    static func replica(replay: UInt64) -> MemberReading {
        MemberReading(inRecovery: true, receiveLSN: replay, replayLSN: replay, replayTimestamp: 990, serverTime: 1000, walReceiverStatus: "streaming")
    }

    private static func member(_ port: Int, role: String) -> [UInt8] {
        Array(#"{"conn_url":"postgres://127.0.0.1:\#(port)/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"\#(role)","version":"3.0.2","xlog_location":1000,"timeline":1}"#.utf8)
    }

    static let topology = Topology(scope: "c", znodes: PatroniZNodes(
        leader: Array("pg-0".utf8), members: ["pg-0": member(6000, role: "master"), "pg-1": member(6001, role: "replica")]))

    private func withHarness(policy: DCSLossPolicy = .verify, _ body: (Harness) throws -> Void) throws {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let check = ClusterCoordinatorTests.FakeCheck()
        let members = FakeMembers()
        let routes = Routes()
        let cluster = ClusterConfiguration(
            scope: "c", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)]),
            check: SQLCheckConfiguration(user: "switchman", fastInterval: .milliseconds(20), rise: 1, fall: 2, minDwell: .zero),
            onDCSLoss: policy)
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .critical
        let listeners = [
            ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary),
            ListenerConfiguration(name: "replicas", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica,
                                  maxLag: LagLimit(bytes: 16 << 20), fallback: .none),
        ]
        let coordinator = ClusterCoordinator(
            listeners: listeners, cluster: cluster, loop: group.loops[0], logger: logger, check: check, memberChecks: members
        ) { published, completion in
            routes.published.withLock { $0.append(published) }
            completion(0)
        }
        try body(Harness(coordinator: coordinator, check: check, members: members, routes: routes, loop: group.loops[0]))
    }


    /// pg-0 confirmed and writable, the picture live.
    private func confirmLeader(_ h: Harness) {
        h.check.answer(.row(["f"]))
        h.coordinator.handle(.topology(Self.topology))
        h.coordinator.handle(.session(.live, detail: "connected"))
        #expect(eventually { h.writes?.state == .ready })
        #expect(eventually { h.members.members == ["pg-0", "pg-1"] })
    }

    private func isHeld(_ route: ListenerRoute?) -> Bool {
        if case .hold = route?.state { return true }
        return false
    }

    @Test func aConfirmedLeaderThatAnswersInRecoveryHoldsWritesUntilTheProbeSeesItWritable() throws {
        try withHarness { h in
            confirmLeader(h)
            let probesBefore = h.check.started.count
            h.check.answer(.row(["t"]))  // the promotion probe still finds it read-only once
            h.sql("pg-0", .reading(Self.replica(replay: 1)))
            #expect(eventually { isHeld(h.writes) })
            #expect(eventually { h.check.started.count >= probesBefore + 2 })
            h.check.answer(.row(["f"]))
            #expect(eventually { h.writes?.state == .ready && h.writes?.servers.map(\.name) == ["pg-0"] })
        }
    }

    @Test func aLeaderThatRefusesItsCheckHoldsWritesButASlowOneDoesNot() throws {
        try withHarness { h in
            confirmLeader(h)
            h.sql("pg-0", .reading(Self.primary))
            h.sql("pg-0", .failed("no answer within 2s"))
            // The replica's check is answered after the leader's: once it shows, the leader's was handled.
            h.sql("pg-1", .reading(Self.replica(replay: 100 << 20)))
            #expect(eventually { h.reads?.servers.map(\.name) == ["pg-1"] })
            #expect(h.writes?.state == .ready, "a slow check cut writes")
            h.sql("pg-0", .failed("connection to server at \"127.0.0.1\", port 6000 failed: Connection refused"), nodeDown: true)
            #expect(eventually { isHeld(h.writes) })
        }
    }

    @Test func aReplicaOverMaxLagLeavesTheReadPoolAndComesBackUnderHalfOfIt() throws {
        try withHarness { h in
            confirmLeader(h)
            h.sql("pg-0", .reading(Self.primary))
            h.sql("pg-1", .reading(Self.replica(replay: 100 << 20)))
            #expect(eventually { h.reads?.servers.map(\.name) == ["pg-1"] })
            h.sql("pg-1", .reading(Self.replica(replay: 80 << 20)))  // 20 MB behind
            #expect(eventually { h.reads?.state == .unavailable(reason: "no eligible replica") })
            #expect(h.reads?.draining.map(\.name) == ["pg-1"])
            h.sql("pg-1", .reading(Self.replica(replay: 100 << 20)))
            #expect(eventually { h.reads?.servers.map(\.name) == ["pg-1"] })
        }
    }

    @Test func withVerifyAnExpiredSessionKeepsWritesWhileTheLeaderSaysPrimaryAndCutsThemWhenRESTSaysOtherwise() throws {
        try withHarness { h in
            confirmLeader(h)
            h.coordinator.handle(.session(.reconnecting, detail: "connection lost"))
            #expect(eventually { h.members.fast.last == "pg-0" })
            h.coordinator.handle(.session(.expired, detail: "session expired"))
            h.sql("pg-0", .reading(Self.primary))
            h.rest("pg-0", path: "/primary", status: 200)
            h.settle()
            #expect(h.writes?.state == .ready)
            h.rest("pg-0", path: "/primary", status: 503)
            #expect(eventually { isHeld(h.writes) })
            #expect(h.members.fast.last == .some(nil))
            // No confirmation while ZooKeeper is away, however writable the node looks.
            h.check.answer(.row(["f"]))
            h.sql("pg-0", .reading(Self.primary))
            usleep(100_000)
            #expect(isHeld(h.writes))
            // ZooKeeper back: its picture wins again, and the leader is confirmed afresh.
            h.coordinator.handle(.topology(Self.topology))
            h.coordinator.handle(.session(.live, detail: "reconnected"))
            #expect(eventually { h.writes?.state == .ready })
        }
    }

    @Test func withVerifyOneSlowCheckDuringTheOutageKeepsWritesAndFallInARowCutsThem() throws {
        try withHarness { h in
            confirmLeader(h)
            h.coordinator.handle(.session(.reconnecting, detail: "connection lost"))
            h.sql("pg-0", .failed("no answer within 500ms"))
            h.rest("pg-0", path: "/primary", status: nil)
            h.settle()
            #expect(h.writes?.state == .ready, "one slow check cut writes")
            h.sql("pg-0", .failed("no answer within 500ms"))
            #expect(eventually { isHeld(h.writes) })
        }
    }

    @Test func withVerifyARefusedCheckDuringTheOutageCutsWritesAtOnce() throws {
        try withHarness { h in
            confirmLeader(h)
            h.coordinator.handle(.session(.reconnecting, detail: "connection lost"))
            h.sql("pg-0", .failed("Connection refused"), nodeDown: true)
            #expect(eventually { isHeld(h.writes) })
            #expect(h.members.fast.last == .some(nil))
        }
    }

    @Test func withVerifyALeaderDemotedDuringTheOutageIsACut() throws {
        try withHarness { h in
            confirmLeader(h)
            h.coordinator.handle(.session(.reconnecting, detail: "connection lost"))
            h.sql("pg-0", .reading(Self.replica(replay: 1)))
            #expect(eventually { isHeld(h.writes) })
            #expect(h.members.fast.last == .some(nil))
        }
    }

    @Test func failClosedHoldsWritesAtSessionExpiryEvenWithHealthyChecks() throws {
        try withHarness(policy: .failClosed) { h in
            confirmLeader(h)
            h.coordinator.handle(.session(.reconnecting, detail: "connection lost"))
            h.sql("pg-0", .reading(Self.primary))
            #expect(h.members.fast.allSatisfy { $0 == nil })
            h.coordinator.handle(.session(.expired, detail: "session expired"))
            #expect(eventually { h.writes?.state != .ready })
        }
    }
}
