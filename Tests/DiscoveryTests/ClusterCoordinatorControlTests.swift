@testable import Discovery
import Logging
import Reactor
import SwitchmanCore
import Synchronization
import Testing

/// Operator controls through the coordinator: unknown targets, the leader winning over a drain on
/// the page, pause and resume of a listener, every control recorded as an event naming who.
struct ClusterCoordinatorControlTests {
    final class Box<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
        func set(_ v: T) { value.withLock { $0 = v } }
        var get: T? { value.withLock { $0 } }
    }

    final class Routes: Sendable {
        let published = Mutex<[[String: ListenerRoute]]>([])
        var last: [String: ListenerRoute]? { published.withLock { $0.last } }
    }

    private static func member(_ name: String, port: Int, role: String) -> [UInt8] {
        Array(#"{"conn_url":"postgres://127.0.0.1:\#(port)/postgres","api_url":"http://127.0.0.1:8008/patroni","state":"running","role":"\#(role)","version":"3.0.2","xlog_location":1000,"timeline":1}"#.utf8)
    }

    /// A coordinator whose leader pg-0 is confirmed, with a primary and a replica listener.
    private func withConfirmedLeader(_ body: (ClusterCoordinator, Routes) throws -> Void) throws {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let check = ClusterCoordinatorTests.FakeCheck()
        check.answer(.row(["f"]))
        let routes = Routes()
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .critical
        let coordinator = ClusterCoordinator(
            listeners: [
                ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary),
                ListenerConfiguration(name: "replicas", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica),
            ],
            cluster: ClusterConfiguration(
                scope: "c", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)]),
                check: SQLCheckConfiguration(user: "switchman", fastInterval: .milliseconds(50))),
            loop: group.loops[0], logger: logger, check: check
        ) { published, completion in
            routes.published.withLock { $0.append(published) }
            completion(0)
        }
        coordinator.handle(.topology(Topology(scope: "c", znodes: PatroniZNodes(
            leader: Array("pg-0".utf8),
            members: ["pg-0": Self.member("pg-0", port: 6000, role: "master"), "pg-1": Self.member("pg-1", port: 6001, role: "replica")]))))
        coordinator.handle(.session(.live, detail: "connected"))
        #expect(eventually { routes.last?["primary"]?.state == .ready })
        try body(coordinator, routes)
    }

    private func control(_ coordinator: ClusterCoordinator, _ action: ControlCommand.Action, _ target: ControlCommand.Target) -> ControlOutcome? {
        let box = Box<ControlOutcome>()
        coordinator.control(ControlCommand(action: action, target: target, user: "ops", client: "127.0.0.1:1")) { box.set($0) }
        _ = eventually { box.get != nil }
        return box.get
    }

    private func view(_ coordinator: ClusterCoordinator) -> ClusterView? {
        let box = Box<ClusterView>()
        coordinator.view { box.set($0) }
        _ = eventually { box.get != nil }
        return box.get
    }

    @Test("an unknown member or listener is not found and changes no route")
    func unknownTargetsAreNotFound() throws {
        try withConfirmedLeader { coordinator, routes in
            let before = routes.published.withLock { $0.count }
            guard case .notFound(let why)? = control(coordinator, .drain, .member("pg-9")) else {
                Issue.record("draining an unknown member did not answer not found")
                return
            }
            #expect(why.contains("pg-0, pg-1"))
            guard case .notFound? = control(coordinator, .pause, .listener("nope")) else {
                Issue.record("pausing an unknown listener did not answer not found")
                return
            }
            #expect(routes.published.withLock { $0.count } == before)
        }
    }

    @Test("a drained leader keeps the writes and its row says so; the event names who drained it")
    func drainedLeaderKeepsWritesAndThePageSaysSo() throws {
        try withConfirmedLeader { coordinator, routes in
            guard case .done(let message)? = control(coordinator, .drain, .member("pg-0")) else {
                Issue.record("drain failed")
                return
            }
            #expect(message.contains("it is the leader: writes still go to it"))
            #expect(routes.last?["primary"]?.servers.map(\.name) == ["pg-0"])
            let seen = try #require(view(coordinator))
            let leader = try #require(seen.members.first { $0.name == "pg-0" })
            #expect(leader.status == .up)
            #expect(leader.adminState == .drain)
            #expect(leader.statusReason?.contains("drained, but leader: writes go to it") == true)
            #expect(seen.events.contains { $0.message.contains("operator ops from 127.0.0.1:1: member pg-0: drain") })
        }
    }

    @Test("maint of the replica takes it out of the read route and shows MAINT; ready brings it back")
    func maintAndReadyOfTheReplica() throws {
        try withConfirmedLeader { coordinator, routes in
            #expect(eventually { routes.last?["replicas"]?.servers.map(\.name) == ["pg-1"] })
            _ = control(coordinator, .maint, .member("pg-1"))
            #expect(routes.last?["replicas"]?.servers.contains { $0.name == "pg-1" } == false)
            #expect(view(coordinator)?.members.first { $0.name == "pg-1" }?.status == .maint)
            _ = control(coordinator, .ready, .member("pg-1"))
            #expect(routes.last?["replicas"]?.servers.map(\.name) == ["pg-1"])
            #expect(view(coordinator)?.members.first { $0.name == "pg-1" }?.adminState == .ready)
        }
    }

    @Test("pause holds the listener and the view lists it; resume routes again")
    func pauseAndResume() throws {
        try withConfirmedLeader { coordinator, routes in
            _ = control(coordinator, .pause, .listener("primary"))
            #expect(routes.last?["primary"]?.state == .hold(reason: "paused by an operator"))
            #expect(view(coordinator)?.pausedListeners == ["primary"])
            _ = control(coordinator, .resume, .listener("primary"))
            #expect(routes.last?["primary"]?.state == .ready)
            #expect(view(coordinator)?.pausedListeners == [])
        }
    }
}
