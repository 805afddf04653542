import Testing
@testable import Discovery

/// The probe's response parser on its own: every framing, every malformed answer, no sockets.
struct HTTPResponseParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let input: String
        /// Whether the connection closes after `input` (needed for close-delimited bodies).
        let closes: Bool
        let status: Int
        let body: String
        var testDescription: String { name }
    }

    static let complete: [Case] = [
        Case(name: "Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"role\":\"master\"}",
             closes: false, status: 200, body: #"{"role":"master"}"#),
        Case(name: "503 with a body", input: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}", closes: false, status: 503, body: "{}"),
        Case(name: "zero Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", closes: false, status: 200, body: ""),
        Case(name: "chunked with an extension and a trailer",
             input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n, world!!!\r\n0\r\nX-Trailer: yes\r\n\r\n",
             closes: false, status: 200, body: "hello, world!!!"),
        Case(name: "Transfer-Encoding overrides Content-Length",
             input: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", closes: false, status: 200, body: "ok"),
        Case(name: "HTTP/1.0 delimited by close", input: "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"state\":\"running\"}",
             closes: true, status: 200, body: #"{"state":"running"}"#),
        Case(name: "204 has no body", input: "HTTP/1.1 204 No Content\r\n\r\n", closes: false, status: 204, body: ""),
        Case(name: "304 has no body", input: "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", closes: false, status: 304, body: ""),
        Case(name: "100 Continue before the answer", input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
             closes: false, status: 200, body: "ok"),
        Case(name: "bare LF line endings", input: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", closes: false, status: 200, body: "ok"),
        Case(name: "no reason phrase", input: "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", closes: false, status: 200, body: "ok"),
        Case(name: "header names in any case, spaces around values", input: "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:\t 2 \r\n\r\nok",
             closes: false, status: 200, body: "ok"),
        Case(name: "repeated equal Content-Length", input: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
             closes: false, status: 200, body: "ok"),
        Case(name: "bytes after the body are ignored", input: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", closes: false, status: 200, body: "ok"),
    ]

    @Test(arguments: complete)
    func parsesACompleteResponseFedAllAtOnce(_ entry: Case) {
        var parser = HTTPResponseParser(bodyLimit: 1024)
        var outcome = parser.consume(Array(entry.input.utf8))
        if entry.closes {
            #expect(outcome == .needMore)
            outcome = parser.finish()
        }
        #expect(outcome == .complete(status: entry.status, body: Array(entry.body.utf8)))
    }

    @Test(arguments: complete)
    func parsesTheSameResponseFedOneByteAtATime(_ entry: Case) {
        var parser = HTTPResponseParser(bodyLimit: 1024)
        var outcome: HTTPResponseParser.Outcome = .needMore
        for byte in entry.input.utf8 where outcome == .needMore {
            outcome = parser.consume([byte])
        }
        if entry.closes { outcome = parser.finish() }
        #expect(outcome == .complete(status: entry.status, body: Array(entry.body.utf8)))
    }

    static let malformed: [(String, String)] = [
        ("SSH-2.0-OpenSSH_9.2\r\n", "malformed status line \"SSH-2.0-OpenSSH_9.2\""),
        ("\u{16}\u{03}\u{01}", "malformed status line \"\\x16\\x03\\x01\""),
        ("<html>", "malformed status line \"<html>\""),
        ("HTTP/2 200\r\n\r\n", "malformed status line \"HTTP/2 200\""),
        ("HTTP/1.2 200 OK\r\n\r\n", "malformed status line \"HTTP/1.2 200 OK\""),
        ("HTTP/1.1 20 OK\r\n\r\n", "malformed status line \"HTTP/1.1 20 OK\""),
        ("HTTP/1.1 2000 OK\r\n\r\n", "malformed status line \"HTTP/1.1 2000 OK\""),
        ("HTTP/1.1 099 Odd\r\n\r\n", "malformed status line \"HTTP/1.1 099 Odd\""),
        ("HTTP/1.1  200 OK\r\n\r\n", "malformed status line \"HTTP/1.1  200 OK\""),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "unexpected 101 Switching Protocols"),
        ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line \"no colon here\""),
        ("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "malformed header line \": empty name\""),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "malformed header line \"Bad Name: x\""),
        ("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n", "malformed header line \" folded\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length \"-1\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "invalid Content-Length \"1e3\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n", "invalid Content-Length \"2, 2\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length \"99999999999999999999\""),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", "conflicting Content-Length headers (2 and 3)"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "unsupported Transfer-Encoding \"gzip, chunked\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "unsupported Transfer-Encoding \"chunked, gzip\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk size \"zz\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", "malformed chunk size \"\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", "malformed chunk size \"5 x\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n", "malformed chunk size \"FFFFFFFFFFFFFFFF\""),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXY\r\n", "chunk not followed by CRLF"),
    ]

    @Test(arguments: malformed)
    func failsAMalformedResponseWithAReason(_ input: String, _ reason: String) {
        var parser = HTTPResponseParser(bodyLimit: 1024)
        #expect(parser.consume(Array(input.utf8)) == .failed(reason))
        // A failed parser stays failed, whatever comes next.
        #expect(parser.consume(Array("HTTP/1.1 200 OK\r\n\r\n".utf8)) == .failed(reason))
        #expect(parser.finish() == .failed(reason))
    }

    @Test func failsGarbageOnTheFirstByteThatCannotStartAStatusLine() {
        var parser = HTTPResponseParser(bodyLimit: 1024)
        #expect(parser.consume(Array("HTT".utf8)) == .needMore)
        #expect(parser.consume(Array("X".utf8)) == .failed("malformed status line \"HTTX\""))
    }

    static let overLimit: [(String, String)] = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", "body of 11 bytes over the 10-byte limit"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\n", "body over the 10-byte limit (chunked, 6 + 5 bytes)"),
        ("HTTP/1.0 200 OK\r\n\r\n0123456789X", "body over the 10-byte limit (delimited by close)"),
    ]

    @Test(arguments: overLimit)
    func failsABodyOverTheLimitAsSoonAsItIsKnown(_ input: String, _ reason: String) {
        var parser = HTTPResponseParser(bodyLimit: 10)
        #expect(parser.consume(Array(input.utf8)) == .failed(reason))
    }

    @Test func acceptsABodyOfExactlyTheLimit() {
        var parser = HTTPResponseParser(bodyLimit: 10)
        #expect(parser.consume(Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789".utf8))
            == .complete(status: 200, body: Array("0123456789".utf8)))
        var closeDelimited = HTTPResponseParser(bodyLimit: 10)
        #expect(closeDelimited.consume(Array("HTTP/1.0 200 OK\r\n\r\n0123456789".utf8)) == .needMore)
        #expect(closeDelimited.finish() == .complete(status: 200, body: Array("0123456789".utf8)))
    }

    @Test func failsAHeadOverItsLimitEvenWithoutANewline() {
        var parser = HTTPResponseParser(bodyLimit: 1024, headLimit: 64)
        #expect(parser.consume(Array("HTTP/1.1 200 OK\r\n".utf8)) == .needMore)
        #expect(parser.consume(Array(("X-Long: " + String(repeating: "a", count: 100)).utf8)) == .failed("response head over 64 bytes"))
    }

    @Test func failsAnEndlessStreamOfHeaders() {
        var parser = HTTPResponseParser(bodyLimit: 1024, headLimit: 256)
        var outcome = parser.consume(Array("HTTP/1.1 200 OK\r\n".utf8))
        for _ in 0..<100 where outcome == .needMore { outcome = parser.consume(Array("X-A: b\r\n".utf8)) }
        #expect(outcome == .failed("response head over 256 bytes"))
    }

    static let cut: [(String, String)] = [
        ("", "connection closed without an answer"),
        ("HTTP/1.1 20", "connection closed in the status line"),
        ("HTTP/1.1 200 OK\r\nContent-", "connection closed in the headers"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123", "connection closed after 4 of 10 body bytes"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", "connection closed in the chunked body after 4 bytes"),
    ]

    @Test(arguments: cut)
    func failsAnAnswerCutByTheConnectionClosing(_ input: String, _ reason: String) {
        var parser = HTTPResponseParser(bodyLimit: 1024)
        #expect(parser.consume(Array(input.utf8)) == .needMore)
        #expect(parser.finish() == .failed(reason))
    }
}
