/// A response of the stats server, and its bytes on the wire.
///
/// Every response carries `Content-Type`, `Content-Length`, `Cache-Control: no-store` (the data is
/// live), `X-Content-Type-Options: nosniff` and `Connection`; `headers` adds others (`Allow`,
/// `WWW-Authenticate`, `Content-Security-Policy`).
public struct HTTPResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// The `Content-Type` of `body`.
    public var contentType: String
    /// Header fields beyond the standard ones.
    public var headers: [HTTPHeader]
    /// The body (sent for GET, omitted for HEAD with the same `Content-Length`).
    public var body: [UInt8]

    /// Creates a response with a text body.
    public init(status: Int, contentType: String = "text/plain; charset=utf-8", headers: [HTTPHeader] = [], body: String) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = Array(body.utf8)
    }

    /// The body as text (lossy for non-UTF-8 bytes); handy in tests and logs.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The answer to a parse error: the status, its one-line reason, `Allow` on 405 (`allow`, else
    /// the page's `GET, HEAD`); the caller closes the connection after sending it.
    public static func parseError(status: Int, reason: String, allow: String? = nil) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: status == 405 ? [HTTPHeader("Allow", allow ?? "GET, HEAD")] : [],
            body: "\(status) \(reasonPhrase(status)): \(reason)\n"
        )
    }

    /// The standard reason phrase for the statuses this server sends.
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The bytes to send: status line, headers, and the body unless `includeBody` is false (HEAD).
    public func serialized(keepAlive: Bool, includeBody: Bool = true) -> [UInt8] {
        var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n"
        head += "Content-Type: \(Self.clean(contentType))\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Cache-Control: no-store\r\n"
        head += "X-Content-Type-Options: nosniff\r\n"
        for header in headers {
            head += "\(Self.clean(header.name)): \(Self.clean(header.value))\r\n"
        }
        head += "Connection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n"
        var out = Array(head.utf8)
        if includeBody { out += body }
        return out
    }

    /// The bytes answering `request`: no body for HEAD; keep-alive if the request allows it.
    public func serialized(for request: HTTPRequest) -> [UInt8] {
        serialized(keepAlive: request.keepAlive, includeBody: request.method != .head)
    }

    /// A header value cannot carry a line break (response splitting): CR and LF become spaces.
    private static func clean(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    }
}
