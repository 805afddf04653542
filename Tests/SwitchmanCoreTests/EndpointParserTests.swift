import Testing

@testable import SwitchmanCore

/// `host:port` as written for binds and servers.
struct EndpointParserTests {
    static let valid: [(text: String, allowPortZero: Bool, host: String, port: UInt16)] = [
        ("127.0.0.1:5432", false, "127.0.0.1", 5432),
        ("db:5432", false, "db", 5432),
        ("pg-1.example.org:6432", false, "pg-1.example.org", 6432),
        ("[::1]:5432", false, "::1", 5432),
        ("[fe80::1:2]:1", false, "fe80::1:2", 1),
        ("*:5432", false, "0.0.0.0", 5432),
        ("0.0.0.0:7000", false, "0.0.0.0", 7000),
        ("127.0.0.1:0", true, "127.0.0.1", 0),
        ("localhost:65535", false, "localhost", 65535),
        (" db:5432 ", false, "db", 5432),
    ]

    @Test("valid endpoints parse to host and port", arguments: valid)
    func validEndpoint(text: String, allowPortZero: Bool, host: String, port: UInt16) throws {
        let endpoint = try EndpointParser.parse(text, allowPortZero: allowPortZero)
        #expect(endpoint == Endpoint(host: host, port: port))
    }

    static let invalid: [(text: String, message: String)] = [
        ("abc", #"expected host:port, got "abc""#),
        ("db", #"expected host:port, got "db""#),
        (":5432", #"expected host:port, host is missing, got ":5432""#),
        ("db:", #"expected a port from 1 to 65535, got "db:""#),
        ("db:x", #"expected a port from 1 to 65535, got "db:x""#),
        ("db:65536", #"expected a port from 1 to 65535, got "db:65536""#),
        ("db:-1", #"expected a port from 1 to 65535, got "db:-1""#),
        ("db:0", #"port 0 is only allowed for a listening address, got "db:0""#),
        ("::1:5432", #"an IPv6 address needs brackets, as in [::1]:5432, got "::1:5432""#),
        ("[::1]5432", #"expected [IPv6]:port, got "[::1]5432""#),
        ("[::1]", #"expected [IPv6]:port, got "[::1]""#),
        ("[db]:5432", #"expected an IPv6 address between brackets, got "[db]:5432""#),
        ("d b:5432", #"expected a host name or address before the port, got "d b:5432""#),
        ("http://db:5432", #"expected a host name or address before the port, got "http://db:5432""#),
    ]

    @Test("invalid endpoints are refused with a message quoting them", arguments: invalid)
    func invalidEndpoint(text: String, message: String) {
        #expect(throws: EndpointParser.Failure(message: message)) {
            try EndpointParser.parse(text)
        }
    }

    @Test("port 0 is accepted only when allowed, and its message says so")
    func portZeroOnlyForBind() throws {
        #expect(try EndpointParser.parse("127.0.0.1:0", allowPortZero: true).port == 0)
        #expect(throws: EndpointParser.Failure.self) { try EndpointParser.parse("127.0.0.1:0") }
        #expect(throws: EndpointParser.Failure(message: #"expected a port from 0 to 65535, got "x:70000""#)) {
            try EndpointParser.parse("x:70000", allowPortZero: true)
        }
    }

    static let collisions: [(a: String, b: String, collide: Bool)] = [
        ("127.0.0.1:5432", "127.0.0.1:5432", true),
        ("0.0.0.0:5432", "127.0.0.1:5432", true),
        ("127.0.0.1:5432", "0.0.0.0:5432", true),
        ("[::]:5432", "127.0.0.1:5432", true),
        ("0.0.0.0:5432", "[::1]:5432", false),
        ("127.0.0.1:5432", "127.0.0.2:5432", false),
        ("127.0.0.1:5432", "127.0.0.1:5433", false),
        ("127.0.0.1:0", "127.0.0.1:0", false),
    ]

    @Test("binds collide on the same port with the same host or a covering wildcard", arguments: collisions)
    func bindCollision(a: String, b: String, collide: Bool) throws {
        let first = try EndpointParser.parse(a, allowPortZero: true)
        let second = try EndpointParser.parse(b, allowPortZero: true)
        #expect(first.collides(with: second) == collide)
    }
}
