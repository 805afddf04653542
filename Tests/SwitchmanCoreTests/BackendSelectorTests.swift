import Testing

@testable import SwitchmanCore

/// Server choice among a route's candidates.
struct BackendSelectorTests {
    static let a = RouteServer(name: "a", endpoint: Endpoint(host: "10.0.0.1", port: 5432))
    static let b = RouteServer(name: "b", endpoint: Endpoint(host: "10.0.0.2", port: 5432))
    static let c = RouteServer(name: "c", endpoint: Endpoint(host: "10.0.0.3", port: 5432))
    static let all = [a, b, c]

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        var balance: BalanceAlgorithm
        var candidates: [RouteServer] = BackendSelectorTests.all
        var sessions: [String: Int] = [:]
        var limit: Int? = nil
        var tried: Set<RouteServer> = []
        var cursor = 0
        let expected: BackendSelector.Choice
        let cursorAfter: Int
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "roundrobin starts at the cursor", balance: .roundrobin, expected: .server(a), cursorAfter: 1),
        Case(name: "roundrobin from cursor 1", balance: .roundrobin, cursor: 1, expected: .server(b), cursorAfter: 2),
        Case(name: "roundrobin wraps around", balance: .roundrobin, cursor: 2, expected: .server(c), cursorAfter: 0),
        Case(name: "roundrobin cursor past a shrunken route wraps", balance: .roundrobin, cursor: 7, expected: .server(b), cursorAfter: 2),
        Case(name: "roundrobin skips a tried server", balance: .roundrobin, tried: [a], expected: .server(b), cursorAfter: 2),
        Case(name: "roundrobin ignores load without a limit", balance: .roundrobin, sessions: ["a": 100], expected: .server(a), cursorAfter: 1),
        Case(name: "roundrobin skips a server at its limit", balance: .roundrobin, sessions: ["a": 2], limit: 2, expected: .server(b), cursorAfter: 2),
        Case(name: "roundrobin below the limit is usable", balance: .roundrobin, sessions: ["a": 1], limit: 2, expected: .server(a), cursorAfter: 1),
        Case(
            name: "all untried at their limit is busy", balance: .roundrobin, sessions: ["a": 2, "b": 2, "c": 2], limit: 2,
            expected: .allBusy, cursorAfter: 0),
        Case(
            name: "busy when the only untried one is full", balance: .roundrobin, sessions: ["c": 1], limit: 1, tried: [a, b],
            expected: .allBusy, cursorAfter: 0),
        Case(name: "all tried is exhausted", balance: .roundrobin, tried: [a, b, c], expected: .exhausted, cursorAfter: 0),
        Case(name: "no candidates is exhausted", balance: .roundrobin, candidates: [], cursor: 3, expected: .exhausted, cursorAfter: 3),
        Case(name: "no candidates is exhausted for leastconn", balance: .leastconn, candidates: [], expected: .exhausted, cursorAfter: 0),
        Case(
            name: "a tried server is not retried even when it is the least loaded", balance: .leastconn,
            sessions: ["b": 5, "c": 3], tried: [a], expected: .server(c), cursorAfter: 0),
        Case(name: "leastconn picks the fewest sessions", balance: .leastconn, sessions: ["a": 3, "b": 1, "c": 2], expected: .server(b), cursorAfter: 2),
        Case(name: "leastconn ties go to the first from the cursor", balance: .leastconn, sessions: ["a": 1, "b": 1, "c": 1], cursor: 1, expected: .server(b), cursorAfter: 2),
        Case(name: "leastconn ties wrap around", balance: .leastconn, sessions: ["a": 0, "b": 4, "c": 0], cursor: 2, expected: .server(c), cursorAfter: 0),
        Case(name: "leastconn prefers less load over the cursor", balance: .leastconn, sessions: ["a": 0, "b": 4, "c": 1], cursor: 2, expected: .server(a), cursorAfter: 1),
        Case(
            name: "leastconn skips servers at the limit", balance: .leastconn, sessions: ["a": 2, "b": 2, "c": 1], limit: 2,
            expected: .server(c), cursorAfter: 0),
        Case(
            name: "leastconn is busy when all are full", balance: .leastconn, sessions: ["a": 2, "b": 2, "c": 3], limit: 2,
            expected: .allBusy, cursorAfter: 0),
        Case(
            name: "leastconn is exhausted when all are tried", balance: .leastconn, tried: [a, b, c],
            expected: .exhausted, cursorAfter: 0),
    ]

    @Test("pick chooses by the balance rule, limit and tried set, and moves the cursor", arguments: cases)
    func pick(_ c: Case) {
        var selector = BackendSelector(balance: c.balance, cursor: c.cursor)
        let choice = selector.pick(from: c.candidates, sessions: { c.sessions[$0.name] ?? 0 }, limit: c.limit, tried: c.tried)
        #expect(choice == c.expected)
        #expect(selector.cursor == c.cursorAfter)
    }

    @Test("roundrobin spreads consecutive sessions evenly")
    func roundRobinRotates() {
        var selector = BackendSelector(balance: .roundrobin)
        var picks: [String] = []
        for _ in 0..<7 {
            if case .server(let server) = selector.pick(from: Self.all, sessions: { _ in 0 }, limit: nil) {
                picks.append(server.name)
            }
        }
        #expect(picks == ["a", "b", "c", "a", "b", "c", "a"])
    }

    @Test("leastconn with equal load rotates instead of always picking the first")
    func leastConnRotatesTies() {
        var selector = BackendSelector(balance: .leastconn)
        var load: [String: Int] = [:]
        var picks: [String] = []
        // Sessions that end at once: load stays equal, so ties decide every pick.
        for _ in 0..<4 {
            if case .server(let server) = selector.pick(from: Self.all, sessions: { load[$0.name] ?? 0 }, limit: nil) {
                picks.append(server.name)
            }
        }
        #expect(picks == ["a", "b", "c", "a"])
        // Sessions that stay open: each pick goes to the least loaded.
        picks = []
        load = ["a": 2, "b": 0, "c": 1]
        for _ in 0..<3 {
            if case .server(let server) = selector.pick(from: Self.all, sessions: { load[$0.name] ?? 0 }, limit: nil) {
                picks.append(server.name)
                load[server.name, default: 0] += 1
            }
        }
        #expect(picks == ["b", "c", "b"])
    }

    @Test("a session retries every server once, then is exhausted")
    func retryWalksAllServersOnce() {
        var selector = BackendSelector(balance: .roundrobin, cursor: 1)
        var tried: Set<RouteServer> = []
        var order: [String] = []
        for _ in 0..<4 {
            switch selector.pick(from: Self.all, sessions: { _ in 0 }, limit: nil, tried: tried) {
            case .server(let server):
                order.append(server.name)
                tried.insert(server)
            case .allBusy:
                order.append("busy")
            case .exhausted:
                order.append("exhausted")
            }
        }
        #expect(order == ["b", "c", "a", "exhausted"])
    }
}
