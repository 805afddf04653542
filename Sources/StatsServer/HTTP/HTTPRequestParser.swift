/// An incremental, bounded HTTP/1.1 request parser for the stats server: feed it bytes as they
/// arrive, get `.needMore`, a complete `.request`, or an `.error` to answer before closing.
///
/// Pure (no I/O) and strict where leniency would be a risk (RFC 9112): one space between the parts
/// of the request line; no obsolete line folding; no blank before a header's colon; no control
/// bytes; `Transfer-Encoding` and repeated or malformed `Content-Length` refused (request smuggling);
/// a single `Host` required on HTTP/1.1. Lenient where it is harmless: a bare LF ends a line,
/// empty lines before the request line are skipped, and a small body (with a GET, or a control's
/// POST) is read and dropped. Work per byte is constant, so a client trickling bytes costs nothing but its buffer.
///
/// After an `.error` the parser stays failed: the connection must be closed.
public struct HTTPRequestParser: Sendable {
    /// Size limits.
    public struct Limits: Sendable, Equatable {
        /// Longest request line (method, target, version) before answering 414.
        public var requestLine: Int
        /// Longest head (request line and header fields, line ends included) before answering 431.
        public var head: Int
        /// Most header fields before answering 431.
        public var headerCount: Int
        /// Largest body accepted (and dropped) with a GET or HEAD; over it, 400.
        public var body: Int

        /// Creates limits; the defaults suit a stats page (8 KiB of head).
        public init(requestLine: Int = 4096, head: Int = 8192, headerCount: Int = 100, body: Int = 8192) {
            self.requestLine = requestLine
            self.head = head
            self.headerCount = headerCount
            self.body = body
        }
    }

    /// The limits in force.
    public let limits: Limits
    private var buffer: [UInt8] = []
    /// Where the search for the end of the head resumes.
    private var scanned = 0
    /// Start of the line being scanned.
    private var lineStart = 0
    /// End (exclusive, line terminator excluded) of the request line once seen.
    private var requestLineEnd: Int?
    /// A parsed head waiting for its body: the request and the total bytes it spans.
    private var pending: (request: HTTPRequest, total: Int)?
    private var failure: (status: Int, reason: String, allow: String?)?

    /// Creates a parser with `limits`.
    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed by a returned request.
    public var bufferedByteCount: Int { buffer.count }

    /// Appends `bytes` and parses as far as possible (same result as ``next()`` afterwards).
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> HTTPParseResult {
        if failure == nil { buffer.append(contentsOf: bytes) }
        return next()
    }

    /// Parses the next request from bytes already buffered (e.g. a pipelined one).
    public mutating func next() -> HTTPParseResult {
        if let failure { return .error(status: failure.status, reason: failure.reason, allow: failure.allow) }
        if let (request, total) = pending { return finish(request, total: total) }
        skipLeadingEmptyLines()
        if let problem = checkMethodPrefix() { return fail(400, problem) }

        var headEnd: Int?
        var i = scanned
        while i < buffer.count {
            if buffer[i] == 0x0A {
                let contentEnd = i > lineStart && buffer[i - 1] == 0x0D ? i - 1 : i
                if requestLineEnd == nil {
                    requestLineEnd = contentEnd
                    if contentEnd > limits.requestLine { return fail(414, "request line longer than \(limits.requestLine) bytes") }
                } else if contentEnd == lineStart {
                    headEnd = i + 1
                    break
                }
                lineStart = i + 1
            }
            i += 1
        }
        scanned = i
        guard let headEnd else {
            // + 1: the line's CR may already be here while its LF is not.
            if requestLineEnd == nil, buffer.count > limits.requestLine + 1 {
                return fail(414, "request line longer than \(limits.requestLine) bytes")
            }
            if buffer.count > limits.head { return fail(431, "request head longer than \(limits.head) bytes") }
            return .needMore
        }
        if headEnd > limits.head { return fail(431, "request head longer than \(limits.head) bytes") }
        switch parseHead(end: headEnd) {
        case .failure(let error):
            return fail(error.status, error.reason, allow: error.allow)
        case .success(let (request, bodyLength)):
            return finish(request, total: headEnd + bodyLength)
        }
    }

    // MARK: steps

    private mutating func fail(_ status: Int, _ reason: String, allow: String? = nil) -> HTTPParseResult {
        failure = (status, reason, allow)
        buffer = []
        return .error(status: status, reason: reason, allow: allow)
    }

    private mutating func finish(_ request: HTTPRequest, total: Int) -> HTTPParseResult {
        guard buffer.count >= total else {
            pending = (request, total)
            return .needMore
        }
        buffer.removeFirst(total)
        pending = nil
        scanned = 0
        lineStart = 0
        requestLineEnd = nil
        return .request(request)
    }

    /// RFC 9112 §2.2: a server should ignore empty lines received before the request line.
    private mutating func skipLeadingEmptyLines() {
        // With no request line seen, the scanned bytes hold no LF, so restarting the scan is cheap.
        guard requestLineEnd == nil else { return }
        var n = 0
        while n < buffer.count, buffer[n] == 0x0A || (buffer[n] == 0x0D && n + 1 < buffer.count && buffer[n + 1] == 0x0A) {
            n += buffer[n] == 0x0D ? 2 : 1
        }
        if n > 0 {
            buffer.removeFirst(n)
            scanned = 0
            lineStart = 0
        }
    }

    /// Rejects bytes that cannot start a request (TLS, binary, garbage) without waiting for a line end.
    private func checkMethodPrefix() -> String? {
        guard requestLineEnd == nil else { return nil }
        let maxMethod = 20
        for (i, byte) in buffer.prefix(maxMethod + 1).enumerated() {
            if byte == 0x20 { return i == 0 ? "request line starts with a space" : nil }
            if byte == 0x0D || byte == 0x0A { return i == 0 ? nil : "request line has no target" }
            if !HTTPSyntax.isTokenByte(byte) { return "invalid byte in method" }
            if i == maxMethod { return "method too long" }
        }
        return nil
    }

    private struct ParseError: Error {
        let status: Int
        let reason: String
        let allow: String?
        init(_ status: Int, _ reason: String, allow: String? = nil) {
            self.status = status
            self.reason = reason
            self.allow = allow
        }
    }

    private func parseHead(end: Int) -> Result<(HTTPRequest, Int), ParseError> {
        // Split into lines without their terminators (the last one is the empty line).
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<end where buffer[i] == 0x0A {
            let contentEnd = i > start && buffer[i - 1] == 0x0D ? i - 1 : i
            lines.append(buffer[start..<contentEnd])
            start = i + 1
        }
        lines.removeLast()
        guard let requestLine = lines.first else { return .failure(ParseError(400, "empty request")) }

        // Request line: method SP target SP version, nothing else.
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        if parts.count == 2 { return .failure(ParseError(400, "HTTP/0.9 requests are not supported")) }
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else {
            return .failure(ParseError(400, "malformed request line"))
        }
        let (methodBytes, target, versionBytes) = (parts[0], parts[1], parts[2])
        guard methodBytes.allSatisfy(HTTPSyntax.isTokenByte) else { return .failure(ParseError(400, "invalid method")) }
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return .failure(ParseError(400, "invalid byte in request target")) }
        let versionText = String(decoding: versionBytes, as: UTF8.self)
        guard let version = HTTPVersion(rawValue: versionText) else {
            if HTTPSyntax.looksLikeHTTPVersion(versionBytes) {
                return .failure(ParseError(505, "HTTP version not supported"))
            }
            return .failure(ParseError(400, "malformed HTTP version"))
        }
        guard let method = HTTPMethod(rawValue: String(decoding: methodBytes, as: UTF8.self)) else {
            // The controls take POST; every other path GET and HEAD.
            let path = String(decoding: target.prefix { $0 != 0x3F }, as: UTF8.self)
            let allow = HTTPMethod.isControlPath(path) ? "POST" : "GET, HEAD"
            return .failure(ParseError(405, "method not allowed", allow: allow))
        }
        guard target.first == 0x2F else { return .failure(ParseError(400, "request target must be a path")) }

        // Header fields.
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            if headers.count == limits.headerCount { return .failure(ParseError(431, "more than \(limits.headerCount) header fields")) }
            guard let first = line.first, first != 0x20, first != 0x09 else {
                return .failure(ParseError(400, "folded or empty header line"))
            }
            guard let colon = line.firstIndex(of: 0x3A) else { return .failure(ParseError(400, "header line without a colon")) }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenByte) else {
                return .failure(ParseError(400, "invalid header name"))
            }
            var value = line[(colon + 1)...]
            while let b = value.first, b == 0x20 || b == 0x09 { value.removeFirst() }
            while let b = value.last, b == 0x20 || b == 0x09 { value.removeLast() }
            guard value.allSatisfy({ $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F }) else {
                return .failure(ParseError(400, "invalid byte in header value"))
            }
            headers.append(HTTPHeader(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }

        func all(_ name: String) -> [String] { headers.filter { $0.name.lowercased() == name }.map(\.value) }
        let hosts = all("host")
        if hosts.count > 1 || (version == .http11 && hosts.isEmpty) {
            return .failure(ParseError(400, hosts.isEmpty ? "missing Host header" : "more than one Host header"))
        }
        if !all("transfer-encoding").isEmpty { return .failure(ParseError(400, "Transfer-Encoding is not accepted")) }
        var bodyLength = 0
        let lengths = all("content-length")
        if lengths.count > 1 { return .failure(ParseError(400, "more than one Content-Length header")) }
        if let text = lengths.first {
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                return .failure(ParseError(400, "invalid Content-Length"))
            }
            if n > limits.body { return .failure(ParseError(400, "request body larger than \(limits.body) bytes")) }
            bodyLength = n
        }
        let connection = all("connection").flatMap { $0.split(separator: ",") }.map {
            $0.trimmingBlanks().lowercased()
        }
        let keepAlive = version == .http11 ? !connection.contains("close") : connection.contains("keep-alive") && !connection.contains("close")

        let targetText = String(decoding: target, as: UTF8.self)
        let path: String
        let query: String?
        if let q = targetText.firstIndex(of: "?") {
            path = String(targetText[..<q])
            query = String(targetText[targetText.index(after: q)...])
        } else {
            path = targetText
            query = nil
        }
        let request = HTTPRequest(method: method, path: path, query: query, headers: headers, version: version, keepAlive: keepAlive)
        return .success((request, bodyLength))
    }
}

/// Byte classes of RFC 9110.
enum HTTPSyntax {
    /// `tchar`: `!#$%&'*+-.^_`|~`, digits and letters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    /// `HTTP/d.d`: a well-formed version this server does not speak (answered with 505).
    static func looksLikeHTTPVersion(_ bytes: ArraySlice<UInt8>) -> Bool {
        let b = Array(bytes)
        return b.count == 8 && b[0..<5].elementsEqual("HTTP/".utf8) && (0x30...0x39).contains(b[5]) && b[6] == 0x2E
            && (0x30...0x39).contains(b[7])
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    func trimmingBlanks() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
