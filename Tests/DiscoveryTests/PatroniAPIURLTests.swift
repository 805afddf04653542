import Discovery
import Testing

/// `api_url` → where to send the probe: table-tested, no sockets.
struct PatroniAPIURLTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let text: String
        let host: String
        let port: UInt16
        let basePath: String
        var testDescription: String { text }
    }

    static let accepted: [Case] = [
        Case(text: "http://127.0.0.1:8009/patroni", host: "127.0.0.1", port: 8009, basePath: "/patroni"),
        Case(text: "http://pg-master:8008/patroni", host: "pg-master", port: 8008, basePath: "/patroni"),
        Case(text: "http://[::1]:8008/patroni", host: "::1", port: 8008, basePath: "/patroni"),
        Case(text: "http://pg-master/patroni", host: "pg-master", port: 80, basePath: "/patroni"),
        Case(text: "http://pg-master", host: "pg-master", port: 80, basePath: "/"),
        Case(text: "http://[::1]", host: "::1", port: 80, basePath: "/"),
        Case(text: "http://pg-master:/patroni", host: "pg-master", port: 80, basePath: "/patroni"),
        Case(text: "HTTP://Pg-Master:8008/", host: "Pg-Master", port: 8008, basePath: "/"),
        Case(text: "http://user:secret@10.0.0.1:8008/patroni", host: "10.0.0.1", port: 8008, basePath: "/patroni"),
        Case(text: "http://10.0.0.1:8008/patroni?verbose=1#top", host: "10.0.0.1", port: 8008, basePath: "/patroni"),
        Case(text: "http://10.0.0.1:8008?x=1", host: "10.0.0.1", port: 8008, basePath: "/"),
        Case(text: "  http://10.0.0.1:8008/patroni\n", host: "10.0.0.1", port: 8008, basePath: "/patroni"),
        Case(text: "http://[fe80::1%eth0]:8008/patroni", host: "fe80::1%eth0", port: 8008, basePath: "/patroni"),
        Case(text: "http://pg-0.example.com:65535/api/patroni", host: "pg-0.example.com", port: 65535, basePath: "/api/patroni"),
    ]

    @Test(arguments: accepted)
    func splitsAnAPIURLIntoHostPortAndPath(_ entry: Case) throws {
        let url = try PatroniAPIURL(parsing: entry.text)
        #expect(url.host == entry.host)
        #expect(url.port == entry.port)
        #expect(url.basePath == entry.basePath)
    }

    static let rejected: [(String, PatroniAPIURL.ParseError)] = [
        ("https://10.0.0.1:8008/patroni", .unsupportedScheme("https")),
        ("HTTPS://10.0.0.1:8008/patroni", .unsupportedScheme("HTTPS")),
        ("ftp://10.0.0.1/patroni", .unsupportedScheme("ftp")),
        ("10.0.0.1:8008/patroni", .missingScheme),
        ("://10.0.0.1:8008/patroni", .missingScheme),
        ("", .missingScheme),
        ("http://:8008/patroni", .missingHost),
        ("http:///patroni", .missingHost),
        ("http://[]:8008/patroni", .missingHost),
        ("http://pg-master:0/patroni", .invalidPort("0")),
        ("http://pg-master:65536/patroni", .invalidPort("65536")),
        ("http://pg-master:80a/patroni", .invalidPort("80a")),
        ("http://pg-master:+80/patroni", .invalidPort("+80")),
        ("http://[::1/patroni", .malformedHost("[::1")),
        ("http://[::1]8008/patroni", .malformedHost("[::1]8008")),
        ("http://::1:8008/patroni", .malformedHost("::1:8008")),
    ]

    @Test(arguments: rejected)
    func rejectsAnAPIURLItCannotProbeWithAReason(_ text: String, _ expected: PatroniAPIURL.ParseError) {
        #expect(throws: expected) { try PatroniAPIURL(parsing: text) }
    }

    @Test func namesHTTPSAsUnsupportedInItsMessage() {
        #expect(PatroniAPIURL.ParseError.unsupportedScheme("https").description.contains("unsupported scheme https://"))
    }

    @Test(arguments: ["http://127.0.0.1:8009/patroni", "http://127.0.0.1:8009", "http://127.0.0.1:8009/api/v1/patroni"])
    func requestsEveryEndpointAtTheRootWhateverPathTheURLCarries(_ text: String) throws {
        let url = try PatroniAPIURL(parsing: text)
        #expect(url.requestPath(for: .primary) == "/primary")
        #expect(url.requestPath(for: .health) == "/health")
        #expect(url.requestPath(for: .patroni) == "/patroni")
    }

    @Test(arguments: [
        ("http://127.0.0.1:8009/patroni", "127.0.0.1:8009"),
        ("http://pg-master/patroni", "pg-master:80"),
        ("http://[::1]:8008/patroni", "[::1]:8008"),
    ])
    func buildsTheHostHeaderWithThePortAndBracketsForIPv6(_ text: String, _ header: String) throws {
        #expect(try PatroniAPIURL(parsing: text).hostHeader == header)
    }
}
