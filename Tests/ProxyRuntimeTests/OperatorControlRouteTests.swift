import Glibc
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// Operators' controls as the data plane sees them: the routes the planner makes of a drain and a
    /// `ready`, published to a running runtime in front of scripted nodes, with the sessions that are
    /// open (or half-way through their start-up) when each route arrives.
    @Suite(.serialized)
    struct OperatorControlRouteTests {
        /// pg-0 leads at `leader`, pg-1 replicates at `replica`.
        private static func topology(leader: FakePostgres, replica: FakePostgres) -> Topology {
            func member(_ name: String, _ role: MemberRole, _ port: UInt16) -> (String, MemberEntry) {
                (name, .valid(ClusterMember(name: name, endpoint: Endpoint(host: "127.0.0.1", port: port), role: role, state: "running")))
            }
            return Topology(
                scope: "my_cluster", leaderName: "pg-0",
                members: Dictionary(uniqueKeysWithValues: [member("pg-0", .primary, leader.port), member("pg-1", .replica, replica.port)]))
        }

        /// A node that asks for an MD5 password (as the cluster's nodes do), waits for it, then
        /// completes the start-up and echoes whatever follows (a stand-in for queries).
        private static func passwordNode(keyBase: UInt32) throws -> FakePostgres {
            let counter = Atomic<UInt32>(0)
            return try FakePostgres { fd, _ in
                let n = counter.add(1, ordering: .relaxed).newValue
                try? TestSocket.writeAll(fd, Wire.message("R", Wire.int32(5) + [1, 2, 3, 4]))
                guard let password = try? Wire.readMessage(fd), password.type == UInt8(ascii: "p") else { return }
                let key = CancelKey(processID: keyBase + n, secret: Wire.int32(keyBase &* 31 &+ n))
                try? TestSocket.writeAll(
                    fd, Wire.authentication(0) + Wire.parameterStatus("server_version", "15.0") + Wire.backendKey(key) + Wire.readyForQuery)
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                    if count <= 0 { return }
                    try? TestSocket.writeAll(fd, Array(buffer[0..<count]))
                }
            }
        }

        private static let password = Wire.message("p", Array("md5-of-something".utf8) + [0])

        /// Publishes every route of `plan` and waits until each loop applied them.
        private static func publish(_ proxy: ProxyHarness, _ plan: RoutePlan) {
            let done = Atomic<Bool>(false)
            proxy.runtime.updateRoutes(plan.routes) { _ in done.store(true, ordering: .releasing) }
            _ = eventually(seconds: 5) { done.load(ordering: .acquiring) }
        }

        @Test("ready after a drain: read sessions the drain sent to the leader go on, the one still authenticating included")
        func readSessionsOnTheLeaderGoOnWhenADrainedReplicaIsReadyAgain() throws {
            let leader = try Self.passwordNode(keyBase: 100)
            let replica = try Self.passwordNode(keyBase: 200)
            defer { leader.stop(); replica.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            let topology = Self.topology(leader: leader, replica: replica)
            let listeners = proxy.runtime.configuration.listeners
            var generations = RouteGenerations()
            func plan(_ controls: OperatorControls) -> RoutePlan {
                RoutePlanner.plan(
                    listeners: listeners, topology: topology, promotion: PromotionState(confirmedLeader: "pg-0"),
                    controls: controls, generations: &generations)
            }
            Self.publish(proxy, plan(OperatorControls()))
            var drained = OperatorControls()
            drained.set(.drain, for: "pg-1")
            let drain = plan(drained)
            #expect(drain.routes["replicas"]?.servers.map(\.name) == ["pg-0"], "the drain does not send reads to the leader")
            Self.publish(proxy, drain)

            // While drained: one read session done with its start-up, one the leader asked for its password.
            let established = try TestSocket.connect(port: proxy.port("replicas"))
            defer { close(established) }
            try TestSocket.writeAll(established, Wire.startup())
            #expect(try Wire.readMessage(established).type == UInt8(ascii: "R"))
            try TestSocket.writeAll(established, Self.password)
            #expect(Wire.key(in: try Wire.readStartupAnswer(established).events) != nil)
            try TestSocket.writeAll(established, Array("one".utf8))
            #expect(try TestSocket.readExactly(established, 3) == Array("one".utf8))
            let authenticating = try TestSocket.connect(port: proxy.port("replicas"))
            defer { close(authenticating) }
            try TestSocket.writeAll(authenticating, Wire.startup())
            #expect(try Wire.readMessage(authenticating).type == UInt8(ascii: "R"))
            #expect(leader.startups.withLock { $0.count } == 2)

            Self.publish(proxy, plan(OperatorControls()))

            // Both go on with the leader: the password is answered, bytes still flow.
            try TestSocket.writeAll(authenticating, Self.password)
            let answer = try? Wire.readStartupAnswer(authenticating)
            #expect(answer.flatMap { Wire.key(in: $0.events) } != nil, "the session authenticating on the leader was closed by ready")
            #expect(answer.flatMap { Wire.error(in: $0.events) } == nil)
            try? TestSocket.writeAll(established, Array("two".utf8))
            #expect((try? TestSocket.readExactly(established, 3)) == Array("two".utf8), "the session open on the leader was closed by ready")
            #expect(proxy.statistics().listeners["replicas"]?.counters.closedByRouteChange == 0)
            // And new read sessions reach the replica again.
            let after = try TestSocket.connect(port: proxy.port("replicas"))
            defer { close(after) }
            try TestSocket.writeAll(after, Wire.startup())
            #expect(try Wire.readMessage(after).type == UInt8(ascii: "R"))
            #expect(replica.startups.withLock { $0.count } == 1)
            #expect(leader.startups.withLock { $0.count } == 2)
        }
    }
}
