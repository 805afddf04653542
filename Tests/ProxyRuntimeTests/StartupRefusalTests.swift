import PosixIO
import SwitchmanCore
import Testing
@testable import ProxyRuntime

struct StartupRefusalTests {
    struct Case: Sendable, CustomStringConvertible {
        let end: SessionEnd
        let cluster: String?
        let wait: StartupRefusal.Wait
        let sqlstate: String?
        let message: String?
        var description: String { "\(end) after \(wait)" }
    }

    static let cases: [Case] = [
        Case(end: .noBackend("no writable leader, held 30s"), cluster: "my_cluster", wait: .hold, sqlstate: "57P03",
             message: "switchman: listener primary (cluster my_cluster): no writable leader, held 30s"),
        Case(end: .noBackend("no eligible replica"), cluster: "my_cluster", wait: .none, sqlstate: "57P03",
             message: "switchman: listener primary (cluster my_cluster): no eligible replica"),
        Case(end: .noBackend("every server of primary is at server_maxconn (queued 5s)"), cluster: nil, wait: .queue,
             sqlstate: "53300", message: "switchman: listener primary: every server of primary is at server_maxconn (queued 5s)"),
        Case(end: .connectFailed("no server reachable after 3 attempt(s)"), cluster: nil, wait: .none, sqlstate: "08006",
             message: "switchman: listener primary: cannot connect to a server: no server reachable after 3 attempt(s)"),
        Case(end: .clientClosed, cluster: nil, wait: .none, sqlstate: nil, message: nil),
        Case(end: .shutdown, cluster: "c", wait: .hold, sqlstate: nil, message: nil),
        Case(end: .routeChanged("node1 left the primary route"), cluster: "c", wait: .none, sqlstate: "57P01",
             message: "switchman: listener primary (cluster c): session closed during its start-up: node1 left the primary route"),
        Case(end: .operatorShutdown("shut down by ops from 127.0.0.1:5000"), cluster: "c", wait: .none, sqlstate: "57P01",
             message: "switchman: listener primary (cluster c): session closed during its start-up: shut down by ops from 127.0.0.1:5000"),
        Case(end: .error("reset"), cluster: nil, wait: .none, sqlstate: nil, message: nil),
    ]

    @Test(arguments: cases)
    func refusalCarriesTheSQLSTATEAndAMessageNamingListenerAndReason(_ c: Case) {
        let refusal = StartupRefusal(end: c.end, listener: "primary", cluster: c.cluster, lastWait: c.wait)
        #expect(refusal?.sqlstate == c.sqlstate)
        #expect(refusal?.message == c.message)
    }

    @Test func errorResponseIsAFatalErrorTheServerParserReadsBack() throws {
        let refusal = try #require(StartupRefusal(end: .noBackend("no writable leader"), listener: "p", cluster: nil, lastWait: .hold))
        var parser = PostgresServerStartupParser()
        let events = parser.feed(refusal.errorResponse)
        guard case .errorBeforeAuth(let fields)? = events.first else {
            Issue.record("expected an early error, got \(events)")
            return
        }
        #expect(fields.severity == "FATAL")
        #expect(fields.sqlstate == "57P03")
        #expect(fields.message == "switchman: listener p: no writable leader")
    }
}

struct CancelTableTests {
    static let a = SocketAddress(literal: "127.0.0.1", port: 5432)!
    static let b = SocketAddress(literal: "127.0.0.1", port: 5433)!

    @Test func keyLeadsToTheNodeThatAnnouncedIt() {
        let table = CancelTable()
        let key = CancelKey(processID: 42, secret: [1, 2, 3, 4])
        #expect(table.insert(key, .init(address: Self.a, server: "a", session: 1)))
        #expect(table.lookup(key)?.address == Self.a)
        #expect(table.lookup(CancelKey(processID: 42, secret: [1, 2, 3, 5])) == nil)
        // A 3.2-style long secret is a different key.
        #expect(table.lookup(CancelKey(processID: 42, secret: [1, 2, 3, 4, 0])) == nil)
    }

    @Test func onlyTheRecordingSessionRemovesItsKey() {
        let table = CancelTable()
        let key = CancelKey(processID: 7, secret: [9, 9, 9, 9])
        table.insert(key, .init(address: Self.a, server: "a", session: 1))
        table.insert(key, .init(address: Self.b, server: "b", session: 2))  // same key from a later session
        table.remove(key, session: 1)
        #expect(table.lookup(key)?.address == Self.b)
        table.remove(key, session: 2)
        #expect(table.lookup(key) == nil)
        #expect(table.count == 0)
    }

    @Test func fullTableRecordsNoNewKeyButKeepsTheOldOnes() {
        let table = CancelTable(capacity: 2)
        for pid in UInt32(1)...2 { #expect(table.insert(CancelKey(processID: pid, secret: [0, 0, 0, 0]), .init(address: Self.a, server: "a", session: UInt64(pid)))) }
        #expect(!table.insert(CancelKey(processID: 3, secret: [0, 0, 0, 0]), .init(address: Self.a, server: "a", session: 3)))
        #expect(table.lookup(CancelKey(processID: 1, secret: [0, 0, 0, 0])) != nil)
        #expect(table.count == 2)
    }

    @Test func liveServersAreCountedPerGroupUntilTheirLastSessionLeaves() {
        let table = CancelTable()
        let raw = table.group(forStatic: "raw"), other = table.group(forStatic: "other")
        #expect(table.group(forStatic: "raw") == raw)
        #expect(raw != other && raw != .cluster && other != .cluster)
        table.serverConnected(group: .cluster, address: Self.a)
        table.serverConnected(group: .cluster, address: Self.a)
        table.serverConnected(group: .cluster, address: Self.b)
        table.serverConnected(group: raw, address: Self.b)
        #expect(Set(table.liveServers(group: .cluster)) == [Self.a, Self.b])
        table.serverDisconnected(group: .cluster, address: Self.a)
        #expect(Set(table.liveServers(group: .cluster)) == [Self.a, Self.b])
        table.serverDisconnected(group: .cluster, address: Self.a)
        table.serverDisconnected(group: .cluster, address: Self.a)  // one too many is harmless
        #expect(table.liveServers(group: .cluster) == [Self.b])
        #expect(table.liveServers(group: raw) == [Self.b])
        #expect(table.liveServers(group: other).isEmpty)
    }
}
