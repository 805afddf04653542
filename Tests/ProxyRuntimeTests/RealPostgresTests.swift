import Glibc
import PosixIO
import SwitchmanCore
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// PostgreSQL-aware connection start with real PostgreSQL 15 nodes and real libpq clients.
    /// Needs PostgreSQL 15 and root (the nodes run as `postgres`); skipped otherwise.
    @Suite(.serialized, .enabled(if: PostgresNode.available, "needs PostgreSQL 15, openssl and root"))
    struct RealPostgresTests {
        static func conninfo(port: UInt16, _ extra: String) -> String {
            "host=127.0.0.1 port=\(port) user=postgres password=\(PostgresNode.password) dbname=postgres connect_timeout=10 \(extra)"
        }

        struct Modes: Sendable, CustomStringConvertible {
            let sslmode: String
            let gssencmode: String
            var description: String { "sslmode=\(sslmode) gssencmode=\(gssencmode)" }
        }

        static let modes: [Modes] = ["disable", "prefer", "require"].flatMap { ssl in
            ["disable", "prefer"].map { Modes(sslmode: ssl, gssencmode: $0) }
        }

        // MARK: - No backend

        @Test(arguments: modes)
        func libpqReportsSwitchmansFatalErrorWhenNoBackendIsAvailable(_ modes: Modes) throws {
            var listeners = clusterConfiguration(holdTimeout: .milliseconds(200)).listeners
            listeners.append(staticListener(servers: [try closedPort()], retries: 0))
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .milliseconds(200), listeners: listeners))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "no writable leader"), servers: [], closesStaleSessions: true))
            setRoute(proxy, "replicas", ListenerRoute(state: .unavailable(reason: "no eligible replica"), servers: [], closesStaleSessions: true))
            let expected = [
                ("primary", "FATAL:  57P03: switchman: listener primary (cluster my_cluster): no writable leader, held 200ms"),
                ("replicas", "FATAL:  57P03: switchman: listener replicas (cluster my_cluster): no eligible replica"),
                ("raw", "FATAL:  08006: switchman: listener raw: cannot connect to a server"),
            ]
            for (listener, message) in expected {
                let extra = "sslmode=\(modes.sslmode) gssencmode=\(modes.gssencmode)"
                switch LibPQClient.connect(Self.conninfo(port: proxy.port(listener), extra)) {
                case .success:
                    Issue.record("\(listener): connected without a backend")
                case .failure(let error):
                    if modes.sslmode == "require" {
                        // Switchman holds no certificate: it answers the SSLRequest `N`, and libpq gives up.
                        #expect(error.message.contains("server does not support SSL, but SSL was required"), "\(listener): \(error.message)")
                    } else {
                        #expect(error.message.contains(message), "\(listener): \(error.message)")
                    }
                }
            }
        }

        // MARK: - Closing

        @Test(arguments: [true, false])
        func afterATerminateTheNodeClosesFirstSoTheTimeWaitIsNotOnTheProxysPort(clusterListener: Bool) throws {
            let node = try PostgresNode()
            defer { node.destroy() }
            let proxy: ProxyHarness
            if clusterListener {
                proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(2)))
                setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", node.port)], closesStaleSessions: true))
            } else {
                proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [node.port])]))
            }
            defer { proxy.stop() }
            var client: LibPQClient? = try LibPQClient.connect(Self.conninfo(port: proxy.port(clusterListener ? "primary" : "raw"), "sslmode=disable")).get()
            // The node sees the proxy's end of the connection: its port is the proxy's ephemeral one.
            let proxyPort = try #require(try client?.value("select inet_client_port()").flatMap { UInt16($0) })
            client = nil  // PQfinish: Terminate, then close

            let proxysSide = TCPConnection(localPort: proxyPort, remotePort: node.port)
            let nodesSide = TCPConnection(localPort: node.port, remotePort: proxyPort)
            // The side that sends the first FIN keeps the TIME_WAIT: the node, which closes on Terminate.
            #expect(eventually { nodesSide.state() == .timeWait }, "the node's side is \(String(describing: nodesSide.state()))")
            // The proxy's side closed second: gone once the node's last ACK came (LAST_ACK until then).
            #expect(eventually { proxysSide.state() == nil }, "the proxy's side is \(String(describing: proxysSide.state()))")
        }

        // MARK: - Nodes starting up or shutting down

        @Test func newConnectionsLandOnTheOtherNodeWhileOneShutsDownSmartly() throws {
            let leaving = try PostgresNode()
            defer { leaving.destroy() }
            let staying = try PostgresNode()
            defer { staying.destroy() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [leaving.port, staying.port], retries: 2)]))
            defer { proxy.stop() }

            // A session keeps the leaving node in its smart shutdown: it answers new connections 57P03.
            var held: LibPQClient? = try LibPQClient.connect(leaving.conninfo()).get()
            leaving.stop(mode: "smart", wait: false)
            #expect(eventually {
                if case .failure(let error) = LibPQClient.connect(leaving.conninfo()) { return error.message.contains("57P03") }
                return false
            })
            for attempt in 0..<10 {
                switch LibPQClient.connect(Self.conninfo(port: proxy.port("raw"), "sslmode=disable")) {
                case .success(let client):
                    #expect(try client.value("select inet_server_port()") == "\(staying.port)", "attempt \(attempt)")
                case .failure(let error):
                    Issue.record("attempt \(attempt): \(error.message)")
                }
            }
            #expect(proxy.statistics().listeners["raw"]!.counters.startupRetries >= 1)
            held = nil  // the last session leaves: the node stops
            _ = held
        }

        @Test func newConnectionsLandOnTheOtherReplicaWhileOneStartsUp() throws {
            let starting = try PostgresNode()
            defer { starting.destroy() }
            let running = try PostgresNode()
            defer { running.destroy() }
            starting.stop(mode: "fast")
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(20)))
            defer { proxy.stop() }
            setRoute(proxy, "replicas", ListenerRoute(
                state: .ready, servers: [server("starting", starting.port), server("running", running.port)], closesStaleSessions: true))
            try starting.start(wait: false)
            // While it starts, the node refuses TCP, then answers 57P03 ("starting up"), then serves.
            var ports: Set<String> = []
            for attempt in 0..<30 {
                switch LibPQClient.connect(Self.conninfo(port: proxy.port("replicas"), "sslmode=disable")) {
                case .success(let client):
                    if let port = try client.value("select inet_server_port()") { ports.insert(port) }
                case .failure(let error):
                    Issue.record("attempt \(attempt): \(error.message)")
                }
            }
            #expect(ports.contains("\(running.port)"))
        }

        // MARK: - The client's address in the database

        @Test func clientAddressListenerShowsTheClientsAddressInPgStatActivityAndStillCancels() throws {
            let node = try PostgresNode()
            defer { node.destroy() }
            let plain = staticListener(servers: [node.port])
            let tagging = ListenerConfiguration(
                name: "tagging", bind: plain.bind, role: .static, servers: plain.servers, clientAddress: .application_name)
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [plain, tagging]))
            defer { proxy.stop() }
            let client = try LibPQClient.connect(Self.conninfo(port: proxy.port("tagging"), "sslmode=disable application_name=psql")).get()
            let port = try #require(client.localPort)
            #expect(try client.value("select application_name from pg_stat_activity where pid = pg_backend_pid()") == "psql [127.0.0.1:\(port)]")
            #expect(try client.value("show application_name") == "psql [127.0.0.1:\(port)]")
            try expectPromptCancel(client, attempt: 0)
            // A 63-byte name is trimmed to make room, not refused.
            let long = String(repeating: "x", count: 63)
            let second = try LibPQClient.connect(Self.conninfo(port: proxy.port("tagging"), "sslmode=disable application_name=\(long)")).get()
            let secondPort = try #require(second.localPort)
            let shown = try #require(try second.value("show application_name"))
            #expect(shown.utf8.count <= 63 && shown.hasPrefix("xxxx") && shown.hasSuffix(" [127.0.0.1:\(secondPort)]"), "\(shown)")
            // TLS: the start-up is encrypted, goes on as sent, and is counted.
            let tls = try LibPQClient.connect(Self.conninfo(port: proxy.port("tagging"), "sslmode=require application_name=psql")).get()
            #expect(tls.usesTLS)
            #expect(try tls.value("show application_name") == "psql")
            // The plain listener leaves the name alone.
            let untouched = try LibPQClient.connect(Self.conninfo(port: proxy.port("raw"), "sslmode=disable application_name=psql")).get()
            #expect(try untouched.value("show application_name") == "psql")
            let counters = proxy.statistics().listeners["tagging"]!.counters
            #expect(counters.clientAddressTagged == 2)
            #expect(counters.clientAddressUntaggedEncrypted == 1)
            #expect(proxy.statistics().listeners["raw"]!.counters.clientAddressTagged == 0)
        }

        // MARK: - Cancel requests

        @Test func pqCancelCancelsPromptlyOnARoundRobinListenerOverTwoNodes() throws {
            let a = try PostgresNode()
            defer { a.destroy() }
            let b = try PostgresNode()
            defer { b.destroy() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [a.port, b.port])]))
            defer { proxy.stop() }
            var ports: Set<String> = []
            for attempt in 0..<20 {
                let client = try LibPQClient.connect(Self.conninfo(port: proxy.port("raw"), "sslmode=disable")).get()
                if let port = try client.value("select inet_server_port()") { ports.insert(port) }
                try expectPromptCancel(client, attempt: attempt)
            }
            #expect(ports == ["\(a.port)", "\(b.port)"])  // both nodes served sessions
            let counters = proxy.statistics().listeners["raw"]!.counters
            #expect(counters.cancelRequestsForwarded == 20)
            #expect(counters.cancelRequestsBroadcast == 0)
        }

        @Test func pqCancelOfATLSSessionReachesItsNodeThroughTheBroadcast() throws {
            let a = try PostgresNode()
            defer { a.destroy() }
            let b = try PostgresNode()
            defer { b.destroy() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [a.port, b.port])]))
            defer { proxy.stop() }
            for attempt in 0..<20 {
                let client = try LibPQClient.connect(Self.conninfo(port: proxy.port("raw"), "sslmode=require")).get()
                #expect(client.usesTLS)
                try expectPromptCancel(client, attempt: attempt)
            }
            let counters = proxy.statistics().listeners["raw"]!.counters
            #expect(counters.cancelRequestsForwarded == 20)
            #expect(counters.cancelRequestsBroadcast == 20)
        }

        /// Runs `pg_sleep(60)`, cancels it with `PQcancel`, and expects SQLSTATE 57014 within 5 s.
        private func expectPromptCancel(_ client: LibPQClient, attempt: Int) throws {
            #expect(client.send("select pg_sleep(60)"))
            usleep(100_000)  // let the backend start the query (a cancel before it is lost, as with PostgreSQL itself)
            let start = SystemClock.monotonicNanoseconds()
            let (sent, message) = client.cancel()
            #expect(sent, "attempt \(attempt): \(message)")
            switch client.result() {
            case .success:
                Issue.record("attempt \(attempt): the query was not cancelled")
            case .failure(let error):
                #expect(error.sqlstate == "57014", "attempt \(attempt): \(error)")
            }
            let seconds = Double(SystemClock.monotonicNanoseconds() - start) / 1e9
            #expect(seconds < 5, "attempt \(attempt): cancelled after \(seconds) s")
        }
    }
}
