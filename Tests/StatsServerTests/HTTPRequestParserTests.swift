import Testing
@testable import StatsServer

@Suite struct HTTPRequestParserTests {
    static func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPParseResult {
        var parser = HTTPRequestParser(limits: limits)
        return parser.feed(Array(text.utf8))
    }

    static func status(_ result: HTTPParseResult) -> Int? {
        if case .error(let status, _, _) = result { return status }
        return nil
    }

    @Test func anUnknownMethodIsToldWhatThePathAllows() {
        #expect(Self.parse("PUT /admin/members/node2/drain HTTP/1.1\r\nHost: h\r\n\r\n")
            == .error(status: 405, reason: "method not allowed", allow: "POST"))
        #expect(Self.parse("PUT /admin?x=1 HTTP/1.1\r\nHost: h\r\n\r\n")
            == .error(status: 405, reason: "method not allowed", allow: "POST"))
        #expect(Self.parse("DELETE /stats.json HTTP/1.1\r\nHost: h\r\n\r\n")
            == .error(status: 405, reason: "method not allowed", allow: "GET, HEAD"))
        #expect(HTTPResponse.parseError(status: 405, reason: "method not allowed", allow: "POST").headers
            == [HTTPHeader("Allow", "POST")])
    }

    @Test func aSimpleGetIsParsed() {
        let result = Self.parse("GET /stats.json?x=1&y HTTP/1.1\r\nHost: proxy:7000\r\nAccept:  */* \r\n\r\n")
        #expect(result == .request(HTTPRequest(
            method: .get, path: "/stats.json", query: "x=1&y",
            headers: [HTTPHeader("Host", "proxy:7000"), HTTPHeader("Accept", "*/*")], version: .http11, keepAlive: true
        )))
    }

    @Test("keep-alive follows the version and Connection", arguments: [
        ("GET / HTTP/1.1\r\nHost: h\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n", false),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
    ])
    func keepAlive(_ text: String, _ expected: Bool) {
        guard case .request(let r) = Self.parse(text) else { Issue.record("not parsed"); return }
        #expect(r.keepAlive == expected)
    }

    @Test("malformed or refused requests get the right status", arguments: [
        ("\u{16}\u{03}\u{01}\u{02}\u{00}", 400),  // a TLS ClientHello
        ("\u{00}\u{01}\u{02}garbage\r\n\r\n", 400),
        ("GET\r\n\r\n", 400),
        ("GET /\r\n\r\n", 400),  // HTTP/0.9
        ("GET / HTTP/1.1 extra\r\nHost: h\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),  // two spaces
        (" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505),
        ("GET / HTTQ/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / http/1.1\r\nHost: h\r\n\r\n", 400),
        ("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 405),
        ("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 405),
        ("get / HTTP/1.1\r\nHost: h\r\n\r\n", 405),  // methods are case-sensitive
        ("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET http://evil/ HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /a\u{7f}b HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET /é HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{00}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400),  // bare CR inside a line
        ("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n12345", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n123456", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n12345", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 8193\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ])
    func malformed(_ text: String, _ expected: Int) {
        #expect(Self.status(Self.parse(text)) == expected, "\(text.debugDescription)")
    }

    @Test func aTooLongRequestLineIs414EvenBeforeItEnds() {
        let long = "GET /" + String(repeating: "a", count: 5000)
        #expect(Self.status(Self.parse(long)) == 414)
        #expect(Self.status(Self.parse(long + " HTTP/1.1\r\nHost: h\r\n\r\n")) == 414)
    }

    @Test func aHeadOver8KiBIs431EvenBeforeItEnds() {
        let big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + String(repeating: "b", count: 9000)
        #expect(Self.status(Self.parse(big)) == 431)
        let many = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X: y\r\n", count: 100) + "\r\n"
        #expect(Self.status(Self.parse(many)) == 431)
        let justUnder = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "X: y\r\n", count: 99) + "\r\n"
        guard case .request = Self.parse(justUnder) else { Issue.record("99 headers + Host must pass"); return }
    }

    @Test("incomplete requests wait for more", arguments: [
        "", "GET", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: h\r\n", "GET / HTTP/1.1\r\nHost: h\r\n\r",
        "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab",
    ])
    func incomplete(_ text: String) {
        #expect(Self.parse(text) == .needMore)
    }

    @Test func bareLFEndsLinesAndLeadingEmptyLinesAreSkipped() {
        guard case .request(let r) = Self.parse("\r\n\nGET /metrics HTTP/1.1\nHost: h\n\n") else { Issue.record("bare LF refused"); return }
        #expect(r.path == "/metrics")
    }

    @Test func bytesTrickledOneAtATimeGiveTheSameRequest() {
        let text = "\r\nHEAD /health HTTP/1.0\r\nUser-Agent: probe\r\nContent-Length: 3\r\n\r\nabc"
        var parser = HTTPRequestParser()
        var results: [HTTPParseResult] = []
        for byte in text.utf8 { results.append(parser.feed([byte])) }
        #expect(results.dropLast().allSatisfy { $0 == .needMore })
        #expect(results.last == .request(HTTPRequest(
            method: .head, path: "/health", headers: [HTTPHeader("User-Agent", "probe"), HTTPHeader("Content-Length", "3")],
            version: .http10, keepAlive: false
        )))
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func pipelinedRequestsComeOutOneByOneAndABodyIsSkipped() {
        var parser = HTTPRequestParser()
        let first = parser.feed(Array("GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c".utf8))
        guard case .request(let a) = first, case .request(let b) = parser.next() else { Issue.record("pipelining"); return }
        #expect(a.path == "/a")
        #expect(b.path == "/b")
        #expect(parser.next() == .needMore)
        guard case .request(let c) = parser.feed(Array(" HTTP/1.1\r\nHost: h\r\n\r\n".utf8)) else { Issue.record("third"); return }
        #expect(c.path == "/c")
    }

    @Test func afterAnErrorTheParserStaysFailed() {
        var parser = HTTPRequestParser()
        #expect(Self.status(parser.feed(Array("BR@KEN".utf8))) == 400)
        #expect(Self.status(parser.feed(Array("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))) == 400)
        #expect(parser.bufferedByteCount == 0)
    }

    @Test func randomBinaryNeverCrashesAndNeverYieldsARequest() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var parser = HTTPRequestParser()
            let bytes = (0..<Int.random(in: 1...3000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var result = HTTPParseResult.needMore
            for chunk in stride(from: 0, to: bytes.count, by: 97) {
                result = parser.feed(bytes[chunk..<min(chunk + 97, bytes.count)])
                if case .error = result { break }
            }
            if case .request = result { Issue.record("random bytes parsed as a request") }
        }
    }

    @Test func headerLookupIsCaseInsensitive() {
        let r = HTTPRequest(method: .get, path: "/", headers: [HTTPHeader("AUTHORIZATION", "Basic x")])
        #expect(r.header("authorization") == "Basic x")
        #expect(r.header("Host") == nil)
    }
}
