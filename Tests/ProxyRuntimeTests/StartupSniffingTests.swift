import Glibc
import Reactor
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// PostgreSQL-aware connection start against scripted nodes (``FakePostgres``) and raw clients:
    /// every byte on the wire is checked.
    @Suite(.serialized)
    struct StartupSniffingTests {
        // MARK: - No backend

        @Test func staticListenerWithoutReachableServerRefusesSSLThenSendsFatal08006() throws {
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [try closedPort()], retries: 1)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, PostgresMessages.sslRequest)
            #expect(try TestSocket.readExactly(client, 1) == [UInt8(ascii: "N")])
            try TestSocket.writeAll(client, Wire.startup())
            let answer = try Wire.readStartupAnswer(client)
            let fields = try #require(Wire.error(in: answer.events))
            #expect(fields.severity == "FATAL")
            #expect(fields.sqlstate == "08006")
            #expect(fields.message?.hasPrefix("switchman: listener raw: cannot connect to a server") == true)
            #expect(TestSocket.waitForClose(client))
            #expect(proxy.statistics().listeners["raw"]?.counters.connectErrors == 1)
        }

        @Test func unavailableClusterRouteRefusesGSSAndSSLThenSendsFatal57P03() throws {
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(5)))
            defer { proxy.stop() }
            setRoute(proxy, "replicas", ListenerRoute(state: .unavailable(reason: "no eligible replica"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("replicas"))
            defer { close(client) }
            // libpq's order with gssencmode=prefer and sslmode=prefer: GSSENCRequest, then SSLRequest, then the start-up.
            try TestSocket.writeAll(client, PostgresMessages.gssEncRequest)
            #expect(try TestSocket.readExactly(client, 1) == [UInt8(ascii: "N")])
            try TestSocket.writeAll(client, PostgresMessages.sslRequest)
            #expect(try TestSocket.readExactly(client, 1) == [UInt8(ascii: "N")])
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "57P03")
            #expect(fields.message == "switchman: listener replicas (cluster my_cluster): no eligible replica")
            #expect(TestSocket.waitForClose(client))
        }

        @Test func heldPrimaryIsRefusedWith57P03WhenTheHoldTimesOut() throws {
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .milliseconds(300)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "no writable leader"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            let start = SystemClock.monotonicNanoseconds()
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(Double(SystemClock.monotonicNanoseconds() - start) / 1e9 >= 0.25)
            #expect(fields.sqlstate == "57P03")
            #expect(fields.message == "switchman: listener primary (cluster my_cluster): no writable leader, held 300ms")
            let stats = proxy.statistics().listeners["primary"]?.counters
            #expect(stats?.heldTotal == 1)
            #expect(stats?.noBackend == 1)
        }

        @Test func aLeaderThatKeepsRefusingIsRefusedWithTheConnectErrorWhenTheHoldTimesOut() throws {
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .milliseconds(800)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", try closedPort())], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "57P03")
            #expect(fields.message?.hasPrefix("switchman: listener primary (cluster my_cluster): leader unreachable (") == true)
            #expect(fields.message?.hasSuffix("held 800ms") == true)
            let stats = proxy.statistics().listeners["primary"]?.counters
            // Tried again and again within the hold (a pause of at most 500 ms between rounds).
            #expect((stats?.connectErrors ?? 0) >= 3)
            #expect(stats?.heldTotal == 1)
        }

        @Test func aRouteChangeSendsAStartUpTheOldNodeNeverAnsweredToTheNewNode() throws {
            let silent = try FakePostgres { fd, _ in _ = try? TestSocket.readToEnd(fd) }
            let next = try FakePostgres.accepting(keyBase: 300)
            defer { silent.stop(); next.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", silent.port)], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(eventually { silent.startups.withLock { $0.count } == 1 })
            // A failover before node1 answered: the client is not bound to node1 yet, so it follows.
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "failover"), servers: [], closesStaleSessions: true))
            #expect(eventually { proxy.statistics().listeners["primary"]?.held == 1 })
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node2", next.port, generation: 2)], closesStaleSessions: true))
            let answer = try Wire.readStartupAnswer(client)
            #expect(Wire.key(in: answer.events) != nil)
            #expect(next.startups.withLock { $0 } == [Wire.startup()])
            let counters = proxy.statistics().listeners["primary"]?.counters
            #expect(counters?.movedByRouteChange == 1)
            #expect(counters?.closedByRouteChange == 0)
        }

        @Test func aLeaderChangeDuringAuthenticationTellsTheClientWhyInsteadOfClosingBare() throws {
            // The old leader asked for a password: the session is bound to it and cannot follow.
            let asked = Atomic<Int>(0)
            let old = try FakePostgres { fd, _ in
                try? TestSocket.writeAll(fd, Wire.message("R", Wire.int32(5) + [9, 9, 9, 9]))
                asked.add(1, ordering: .relaxed)
                _ = try? TestSocket.readToEnd(fd)
            }
            let new = try FakePostgres.accepting(keyBase: 500)
            defer { old.stop(); new.stop() }
            let logs = CapturedLogs()
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)), logs: logs)
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", old.port)], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(try Wire.readMessage(client).type == UInt8(ascii: "R"))
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node2", new.port, generation: 2)], closesStaleSessions: true))
            let message = try? Wire.readMessage(client)
            #expect(message?.type == UInt8(ascii: "E"), "a bare close instead of an ErrorResponse")
            if let message, message.type == UInt8(ascii: "E") {
                let fields = ErrorFields(body: message.body)
                #expect(fields.severity == "FATAL")
                #expect(fields.sqlstate == "57P01")
                #expect(fields.message == "switchman: listener primary (cluster my_cluster): session closed during its start-up: node1 left the primary route")
            }
            #expect(TestSocket.waitForClose(client))
            #expect(proxy.statistics().listeners["primary"]?.counters.closedByRouteChange == 1)
            #expect(logs.lines.contains { $0.hasPrefix("notice route change closed 1 session(s) to node1") })
            #expect(new.startups.withLock { $0.isEmpty })
        }

        @Test func aNodeThatNeverAnswersTheStartUpIsGivenUpAfterTheStartupAnswerTimeout() throws {
            let silent = try FakePostgres { fd, _ in _ = try? TestSocket.readToEnd(fd) }
            defer { silent.stop() }
            let base = clusterConfiguration(holdTimeout: .milliseconds(1500))
            let configuration = ProxyConfiguration(
                timeouts: Timeouts(startupAnswer: .milliseconds(300)), listeners: base.listeners, cluster: base.cluster)
            let proxy = try ProxyHarness(configuration)
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("node1", silent.port)], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"), timeoutSeconds: 8)
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "57P03")
            #expect(fields.message?.contains("node1 did not answer the start-up within 300ms") == true)
            // Replayed on the only node within the hold before the refusal.
            #expect(silent.startups.withLock { $0.count } >= 2)
        }

        @Test func aReplicaThatNeverAnswersTheStartUpIsSkippedForOneThatDoes() throws {
            let silent = try FakePostgres { fd, _ in _ = try? TestSocket.readToEnd(fd) }
            let healthy = try FakePostgres.accepting(keyBase: 500)
            defer { silent.stop(); healthy.stop() }
            let base = clusterConfiguration(holdTimeout: .seconds(10))
            let proxy = try ProxyHarness(ProxyConfiguration(
                timeouts: Timeouts(startupAnswer: .milliseconds(300)), listeners: base.listeners, cluster: base.cluster))
            defer { proxy.stop() }
            setRoute(proxy, "replicas", ListenerRoute(
                state: .ready, servers: [server("node1", silent.port), server("node2", healthy.port)], closesStaleSessions: true))
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("replicas"), timeoutSeconds: 8)
                defer { close(client) }
                try TestSocket.writeAll(client, Wire.startup())
                #expect(Wire.key(in: try Wire.readStartupAnswer(client).events) != nil)
            }
            #expect(healthy.startups.withLock { $0.count } == 4)
        }

        @Test func addressesLeftFromOneServersNameAreNeverUsedForTheNextServer() throws {
            // a.test resolves to a node that answers 57P03 and then to one that accepts; b.test does
            // not resolve. A start-up replayed from a.test to b.test must not land on a.test's second
            // address under b.test's name.
            let refusing = try FakePostgres.refusing()
            let secondAddress = try FakePostgres.accepting(keyBase: 700)
            defer { refusing.stop(); secondAddress.stop() }
            let resolver = AddressResolver { host, _ in
                host == "a.test"
                    ? .success([SocketAddress(literal: "127.0.0.1", port: refusing.port)!, SocketAddress(literal: "127.0.0.1", port: secondAddress.port)!])
                    : .failure(ResolutionError(host: host, message: "unknown"))
            }
            let listener = ListenerConfiguration(
                name: "raw", bind: Endpoint(host: "127.0.0.1", port: 0),
                servers: [Endpoint(host: "a.test", port: 5432), Endpoint(host: "b.test", port: 5432)], retries: 3)
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [listener]), resolver: resolver)
            defer { proxy.stop() }
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("raw"), timeoutSeconds: 8)
                defer { close(client) }
                try TestSocket.writeAll(client, Wire.startup())
                _ = try? Wire.readStartupAnswer(client)
            }
            #expect(refusing.startups.withLock { $0.count } >= 4)
            #expect(secondAddress.startups.withLock { $0.count } == 0)
        }

        @Test func heldClientIsConnectedOnceTheRouteBecomesReady() throws {
            let node = try FakePostgres.accepting(keyBase: 100)
            defer { node.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(10)))
            defer { proxy.stop() }
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "failover"), servers: [], closesStaleSessions: true))
            let client = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            #expect(eventually { proxy.statistics().listeners["primary"]?.held == 1 })
            setRoute(proxy, "primary", ListenerRoute(state: .ready, servers: [server("n1", node.port)], closesStaleSessions: true))
            let answer = try Wire.readStartupAnswer(client)
            #expect(Wire.key(in: answer.events) != nil)
            #expect(node.startups.withLock { $0 } == [Wire.startup()])
        }

        @Test func nonPostgresClientOfAStaticListenerWithoutServerIsClosedWithoutAWord() throws {
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [try closedPort()], retries: 0)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Array("GET / HTTP/1.0\r\n\r\n".utf8))
            #expect(try TestSocket.readToEnd(client).isEmpty)
        }

        // MARK: - Replays

        @Test func cannotConnectNowIsReplayedOnTheNextNodeWithoutTheClientNoticing() throws {
            let refusing = try FakePostgres.refusing()
            defer { refusing.stop() }
            let accepting = try FakePostgres.accepting(keyBase: 1000)
            defer { accepting.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [refusing.port, accepting.port])]))
            defer { proxy.stop() }
            for _ in 0..<6 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, Wire.startup())
                let answer = try Wire.readStartupAnswer(client)
                #expect(Wire.error(in: answer.events) == nil, "the client saw \(answer.events)")
                #expect(Wire.key(in: answer.events) != nil)
                close(client)
            }
            // Round-robin sent some start-ups to the refusing node first; each was replayed.
            let refused = refusing.startups.withLock { $0 }
            #expect(!refused.isEmpty)
            #expect(refused.allSatisfy { $0 == Wire.startup() })
            #expect(accepting.startups.withLock { $0.count } == 6)
            let counters = proxy.statistics().listeners["raw"]?.counters
            #expect(counters?.startupRetries == UInt64(refused.count))
            #expect(counters?.retries == UInt64(refused.count))
        }

        @Test func replayAfterAnSSLRefusalSendsOnlyTheStartupMessage() throws {
            let refusing = try FakePostgres.refusing()
            defer { refusing.stop() }
            let accepting = try FakePostgres.accepting(keyBase: 2000)
            defer { accepting.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [refusing.port, accepting.port])]))
            defer { proxy.stop() }
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, PostgresMessages.sslRequest)
                #expect(try TestSocket.readExactly(client, 1) == [UInt8(ascii: "N")])
                try TestSocket.writeAll(client, Wire.startup())
                let answer = try Wire.readStartupAnswer(client)
                #expect(Wire.error(in: answer.events) == nil)
                close(client)
            }
            #expect(!refusing.startups.withLock { $0 }.isEmpty)
            #expect(accepting.startups.withLock { $0.count } == 4)
        }

        @Test func nodeThatClosesBeforeAnsweringIsReplacedByTheNext() throws {
            let closing = try FakePostgres { _, _ in }  // reads the start-up, then closes
            defer { closing.stop() }
            let accepting = try FakePostgres.accepting(keyBase: 3000)
            defer { accepting.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [closing.port, accepting.port])]))
            defer { proxy.stop() }
            for _ in 0..<4 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, Wire.startup())
                #expect(Wire.key(in: try Wire.readStartupAnswer(client).events) != nil)
                close(client)
            }
            #expect(!closing.startups.withLock { $0 }.isEmpty)
        }

        @Test func otherEarlyErrorsAreForwardedNotReplayed() throws {
            let tooMany = try FakePostgres.refusing(sqlstate: "53300", message: "sorry, too many clients already")
            defer { tooMany.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [tooMany.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "53300")
            #expect(fields.message == "sorry, too many clients already")
            #expect(tooMany.startups.withLock { $0.count } == 1)
        }

        @Test func staticListenerGivesUpReplayingAfterItsRetriesAndForwardsTheNodesError() throws {
            let refusing = try FakePostgres.refusing()
            defer { refusing.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [refusing.port], retries: 2)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            let fields = try #require(Wire.error(in: try Wire.readStartupAnswer(client).events))
            #expect(fields.sqlstate == "57P03")
            #expect(fields.message == "the database system is shutting down")
            #expect(refusing.startups.withLock { $0.count } == 3)  // the first attempt and 2 retries
        }

        @Test func errorAfterAuthenticationStartedIsForwardedAndNeverReplayed() throws {
            let strict = try FakePostgres { fd, _ in
                try? TestSocket.writeAll(fd, Wire.authentication(3))  // cleartext password
                guard let password = try? Wire.readMessage(fd), password.type == UInt8(ascii: "p") else { return }
                try? TestSocket.writeAll(fd, PostgresMessages.errorResponse(sqlstate: "57P03", message: "shutting down meanwhile"))
            }
            defer { strict.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [strict.port], retries: 3)]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Wire.startup())
            let request = try Wire.readMessage(client)
            #expect(request.raw == Wire.authentication(3))
            try TestSocket.writeAll(client, Wire.message("p", Array("secret\0".utf8)))
            let error = try Wire.readMessage(client)
            #expect(error.type == UInt8(ascii: "E"))
            // Even a 57P03 is the node's to tell once authentication started: no replay.
            #expect(ErrorFields(body: error.body).sqlstate == "57P03")
            #expect(TestSocket.waitForClose(client))
            #expect(strict.startups.withLock { $0.count } == 1)
        }

        // MARK: - Encryption

        @Test func sessionIsForwardedBlindlyOnceTheNodeAcceptsSSL() throws {
            let tls = try FakePostgres(encryptionAnswer: UInt8(ascii: "S")) { _, _ in }
            defer { tls.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [tls.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, PostgresMessages.sslRequest)
            #expect(try TestSocket.readExactly(client, 1) == [UInt8(ascii: "S")])
            // What follows would be TLS; the fake node echoes it. A start-up-shaped record must pass untouched too.
            let records = [patternBytes(20_000), Wire.startup(), PostgresMessages.cancelRequest(CancelKey(processID: 1, secret: [1, 2, 3, 4]))]
            for record in records {
                try TestSocket.writeAll(client, record)
                #expect(try TestSocket.readExactly(client, record.count) == record)
            }
            #expect(tls.cancels.withLock { $0.isEmpty })
        }

        // MARK: - Cancel requests

        @Test func cancelRequestReachesOnlyTheNodeThatIssuedTheKey() throws {
            let a = try FakePostgres.accepting(keyBase: 10_000)
            defer { a.stop() }
            let b = try FakePostgres.accepting(keyBase: 20_000)
            defer { b.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [a.port, b.port])]))
            defer { proxy.stop() }
            var sessions: [(fd: Int32, key: CancelKey)] = []
            defer { for session in sessions { close(session.fd) } }
            for _ in 0..<6 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, Wire.startup())
                sessions.append((client, try #require(Wire.key(in: try Wire.readStartupAnswer(client).events))))
            }
            for session in sessions {
                let canceller = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(canceller, PostgresMessages.cancelRequest(session.key))
                #expect(TestSocket.waitForClose(canceller))  // closed once forwarded, never answered
                close(canceller)
            }
            let toA = a.cancels.withLock { $0 }
            let toB = b.cancels.withLock { $0 }
            #expect(Set(toA) == Set(sessions.map(\.key).filter { $0.processID < 20_000 }))
            #expect(Set(toB) == Set(sessions.map(\.key).filter { $0.processID >= 20_000 }))
            #expect(toA.count + toB.count == sessions.count)
            let counters = proxy.statistics().listeners["raw"]?.counters
            #expect(counters?.cancelRequestsForwarded == UInt64(sessions.count))
            #expect(counters?.cancelRequestsBroadcast == 0)
        }

        @Test func cancelRequestWithAnUnknownKeyIsBroadcastToEveryServer() throws {
            let a = try FakePostgres.accepting(keyBase: 10_000)
            defer { a.stop() }
            let b = try FakePostgres.accepting(keyBase: 20_000)
            defer { b.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [a.port, b.port])]))
            defer { proxy.stop() }
            let key = CancelKey(processID: 77, secret: Array(repeating: 7, count: 32))  // a protocol 3.2 key
            let canceller = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(canceller) }
            try TestSocket.writeAll(canceller, PostgresMessages.cancelRequest(key))
            #expect(TestSocket.waitForClose(canceller))
            #expect(eventually(seconds: 5) { a.cancels.withLock { $0 } == [key] && b.cancels.withLock { $0 } == [key] })
            #expect(proxy.statistics().listeners["raw"]?.counters.cancelRequestsBroadcast == 1)
        }

        @Test func cancelRequestOnAHeldPrimaryIsForwardedAtOnce() throws {
            let node = try FakePostgres.accepting(keyBase: 500)
            defer { node.stop() }
            let proxy = try ProxyHarness(clusterConfiguration(holdTimeout: .seconds(30)))
            defer { proxy.stop() }
            // The replica route still names the node; the primary port holds (failover).
            setRoute(proxy, "replicas", ListenerRoute(state: .ready, servers: [server("n1", node.port)], closesStaleSessions: true))
            setRoute(proxy, "primary", ListenerRoute(state: .hold(reason: "failover"), servers: [], closesStaleSessions: true))
            let key = CancelKey(processID: 1, secret: [1, 1, 1, 1])
            let canceller = try TestSocket.connect(port: proxy.port("primary"))
            defer { close(canceller) }
            try TestSocket.writeAll(canceller, PostgresMessages.cancelRequest(key))
            #expect(TestSocket.waitForClose(canceller))
            #expect(node.cancels.withLock { $0 } == [key])
            #expect(proxy.statistics().listeners["primary"]?.counters.heldTotal == 0)
        }

        @Test func descriptorsReturnToTheirBaselineAfterRefusalsReplaysAndCancels() throws {
            let refusing = try FakePostgres.refusing()
            let accepting = try FakePostgres.accepting(keyBase: 9000)
            let dead = try closedPort()
            let baseline = openDescriptorCount()
            do {
                let proxy = try ProxyHarness(ProxyConfiguration(listeners: [
                    staticListener("pg", servers: [refusing.port, accepting.port, dead]),
                    staticListener("none", servers: [dead], retries: 0),
                ]))
                for i in 0..<20 {
                    let client = try TestSocket.connect(port: proxy.port("pg"))
                    try TestSocket.writeAll(client, Wire.startup())
                    let key = try #require(Wire.key(in: try Wire.readStartupAnswer(client).events))
                    let canceller = try TestSocket.connect(port: proxy.port("pg"))
                    // Every other cancel has an unknown key: broadcast, including to the dead server.
                    let cancelKey = i % 2 == 0 ? key : CancelKey(processID: UInt32(i), secret: [0, 0, 0, 0])
                    try TestSocket.writeAll(canceller, PostgresMessages.cancelRequest(cancelKey))
                    #expect(TestSocket.waitForClose(canceller))
                    close(canceller)
                    close(client)
                    let refused = try TestSocket.connect(port: proxy.port("none"))
                    try TestSocket.writeAll(refused, PostgresMessages.sslRequest)
                    #expect(try TestSocket.readExactly(refused, 1) == [UInt8(ascii: "N")])
                    try TestSocket.writeAll(refused, Wire.startup())
                    #expect(Wire.error(in: try Wire.readStartupAnswer(refused).events)?.sqlstate == "08006")
                    close(refused)
                }
                #expect(eventually { proxy.statistics().sessions == 0 })
                #expect(proxy.cancelTable.count == 0)
                proxy.stop()
            }
            refusing.stop()
            accepting.stop()
            #expect(eventually { openDescriptorCount() <= baseline + 2 }, "open: \(openDescriptorCount()), baseline \(baseline)")
        }

        @Test func cancelKeysAreForgottenWhenTheirSessionEnds() throws {
            let node = try FakePostgres.accepting(keyBase: 700)
            defer { node.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [node.port])]))
            defer { proxy.stop() }
            let table = proxy.cancelTable
            for _ in 0..<5 {
                let client = try TestSocket.connect(port: proxy.port("raw"))
                try TestSocket.writeAll(client, Wire.startup())
                _ = try Wire.readStartupAnswer(client)
                close(client)
            }
            #expect(eventually { proxy.statistics().sessions == 0 })
            #expect(table.count == 0)
            #expect(table.liveServers(group: table.group(forStatic: "raw")).isEmpty)
        }
    }
}

// MARK: - Helpers

func clusterConfiguration(holdTimeout: Duration, listeners: [ListenerConfiguration]? = nil) -> ProxyConfiguration {
    ProxyConfiguration(
        listeners: listeners ?? [
            ListenerConfiguration(name: "primary", bind: Endpoint(host: "127.0.0.1", port: 0), role: .primary),
            ListenerConfiguration(name: "replicas", bind: Endpoint(host: "127.0.0.1", port: 0), role: .replica),
        ],
        cluster: ClusterConfiguration(
            scope: "my_cluster", zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: 2181)]),
            holdTimeout: holdTimeout))
}

func server(_ name: String, _ port: UInt16, generation: UInt64 = 1) -> RouteServer {
    RouteServer(name: name, endpoint: Endpoint(host: "127.0.0.1", port: port), generation: generation)
}

/// Installs a route and waits until every loop applied it.
func setRoute(_ proxy: ProxyHarness, _ listener: String, _ route: ListenerRoute) {
    let done = Atomic<Bool>(false)
    proxy.runtime.updateRoutes([listener: route]) { _ in done.store(true, ordering: .releasing) }
    _ = eventually(seconds: 5) { done.load(ordering: .acquiring) }
}
