import Testing
@testable import StatsServer

@Suite struct HTTPResponseTests {
    @Test func serializedResponseHasTheStandardHeadersAndTheBody() {
        let r = HTTPResponse(status: 200, contentType: "application/json", body: "{}\n")
        #expect(String(decoding: r.serialized(keepAlive: true), as: UTF8.self) == """
            HTTP/1.1 200 OK\r
            Content-Type: application/json\r
            Content-Length: 3\r
            Cache-Control: no-store\r
            X-Content-Type-Options: nosniff\r
            Connection: keep-alive\r
            \r
            {}

            """)
    }

    @Test func headKeepsTheLengthAndDropsTheBody() {
        let r = HTTPResponse(status: 503, body: "unavailable: x\n")
        let bytes = String(decoding: r.serialized(for: HTTPRequest(method: .head, path: "/", keepAlive: false)), as: UTF8.self)
        #expect(bytes.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(bytes.contains("Content-Length: 15\r\n"))
        #expect(bytes.contains("Connection: close\r\n"))
        #expect(bytes.hasSuffix("\r\n\r\n"))
    }

    @Test func headerValuesCannotSplitTheResponse() {
        let r = HTTPResponse(status: 200, headers: [HTTPHeader("X-Note", "a\r\nSet-Cookie: evil")], body: "")
        let text = String(decoding: r.serialized(keepAlive: false), as: UTF8.self)
        #expect(text.contains("X-Note: a  Set-Cookie: evil\r\n"))
        #expect(!text.contains("\r\nSet-Cookie"))
    }

    @Test("parse errors carry their reason, and 405 says what is allowed", arguments: [400, 405, 414, 431, 505])
    func parseErrorResponses(_ status: Int) {
        let r = HTTPResponse.parseError(status: status, reason: "why")
        #expect(r.status == status)
        #expect(r.bodyText.hasSuffix(": why\n"))
        #expect(r.headers.contains(HTTPHeader("Allow", "GET, HEAD")) == (status == 405))
        #expect(!HTTPResponse.reasonPhrase(status).hasPrefix("Status"))
    }
}
