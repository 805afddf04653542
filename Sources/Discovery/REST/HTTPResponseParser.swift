/// An incremental parser for one HTTP/1.0 or HTTP/1.1 response to a `GET`: status line, headers,
/// and a body delimited by `Content-Length`, chunked transfer coding, or the end of the connection.
///
/// Pure (no descriptors), so every way a server can answer wrongly is table-tested without sockets.
/// Everything it buffers is bounded (head, chunk framing, body), and it fails as soon as the input
/// cannot become a valid response, so garbage never leaves a probe waiting for its timeout.
struct HTTPResponseParser {
    /// Where parsing stands after the bytes given so far.
    enum Outcome: Equatable, Sendable {
        /// The response is not complete yet.
        case needMore
        /// A whole final (non-1xx) response.
        case complete(status: Int, body: [UInt8])
        /// The input is not a response this parser accepts; the text says why.
        case failed(String)
    }

    private enum Framing {
        case length(Int)
        case chunked
        case untilClose
        case none
    }

    private enum State {
        case statusLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done(Outcome)
    }

    /// The largest body accepted, in bytes.
    let bodyLimit: Int
    /// The largest status line plus headers (and, separately, trailers) accepted, in bytes.
    let headLimit: Int

    private var state: State = .statusLine
    private var pending: [UInt8] = []
    private var cursor = 0
    private var headBytes = 0
    private var status = 0
    private var contentLength: Int?
    private var chunked = false
    private var body: [UInt8] = []

    /// A parser that fails bodies over `bodyLimit` bytes and heads over `headLimit` bytes.
    init(bodyLimit: Int, headLimit: Int = 16 * 1024) {
        self.bodyLimit = bodyLimit
        self.headLimit = headLimit
    }

    /// Bytes fed so far (for messages).
    private(set) var bytesReceived = 0

    /// Feeds the next bytes read from the connection.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        if case .done(let outcome) = state { return outcome }
        bytesReceived += bytes.count
        pending.append(contentsOf: bytes)
        let outcome = advance()
        // Keep what is unparsed only; the consumed prefix is dropped once per call.
        if cursor > 0 {
            pending.removeFirst(cursor)
            cursor = 0
        }
        if case .needMore = outcome {} else { state = .done(outcome) }
        return outcome
    }

    /// Feeds bytes from an array (for tests and callers without a raw buffer).
    mutating func consume(_ bytes: [UInt8]) -> Outcome {
        bytes.withUnsafeBytes { consume($0) }
    }

    /// The peer closed the connection: a close-delimited body is complete now, anything else was cut.
    mutating func finish() -> Outcome {
        if case .done(let outcome) = state { return outcome }
        let outcome: Outcome
        switch state {
        case .untilClose:
            outcome = .complete(status: status, body: body)
        case .statusLine:
            outcome = .failed(bytesReceived > 0 ? "connection closed in the status line" : "connection closed without an answer")
        case .headers:
            outcome = .failed("connection closed in the headers")
        case .body(let remaining):
            outcome = .failed("connection closed after \(body.count) of \(body.count + remaining) body bytes")
        case .chunkSize, .chunkData, .chunkDataEnd, .trailers:
            outcome = .failed("connection closed in the chunked body after \(body.count) bytes")
        case .done(let done):
            outcome = done
        }
        state = .done(outcome)
        return outcome
    }

    // MARK: - States

    private mutating func advance() -> Outcome {
        while true {
            switch state {
            case .statusLine:
                if let mismatch = earlyMismatch() { return mismatch }
                guard let line = nextLine(limit: headLimit - headBytes, counting: true) else {
                    return lineOverflow(limit: headLimit, what: "response head")
                }
                guard let line else { return .needMore }
                if let failure = parseStatusLine(line) { return failure }
                state = .headers
            case .headers:
                guard let line = nextLine(limit: headLimit - headBytes, counting: true) else {
                    return lineOverflow(limit: headLimit, what: "response head")
                }
                guard let line else { return .needMore }
                if line.isEmpty {
                    if let outcome = endOfHead() { return outcome }
                } else if let failure = parseHeader(line) {
                    return failure
                }
            case .body(let remaining):
                let take = min(remaining, pending.count - cursor)
                body.append(contentsOf: pending[cursor..<cursor + take])
                cursor += take
                if take == remaining { return .complete(status: status, body: body) }
                state = .body(remaining: remaining - take)
                return .needMore
            case .chunkSize:
                guard let line = nextLine(limit: Self.chunkLineLimit, counting: false) else {
                    return .failed("chunk size line over \(Self.chunkLineLimit) bytes")
                }
                guard let line else { return .needMore }
                guard let size = Self.chunkSize(line) else { return .failed("malformed chunk size \(Self.quoted(line))") }
                if size == 0 {
                    headBytes = 0  // the trailer section gets a head limit of its own
                    state = .trailers
                } else if size > bodyLimit - body.count {
                    return .failed("body over the \(bodyLimit)-byte limit (chunked, \(body.count) + \(size) bytes)")
                } else {
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let take = min(remaining, pending.count - cursor)
                body.append(contentsOf: pending[cursor..<cursor + take])
                cursor += take
                guard take == remaining else {
                    state = .chunkData(remaining: remaining - take)
                    return .needMore
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard let line = nextLine(limit: Self.chunkLineLimit, counting: false) else {
                    return .failed("chunk not followed by CRLF")
                }
                guard let line else { return .needMore }
                guard line.isEmpty else { return .failed("chunk not followed by CRLF") }
                state = .chunkSize
            case .trailers:
                guard let line = nextLine(limit: headLimit - headBytes, counting: true) else {
                    return lineOverflow(limit: headLimit, what: "trailer section")
                }
                guard let line else { return .needMore }
                if line.isEmpty { return .complete(status: status, body: body) }
            case .untilClose:
                let available = pending.count - cursor
                guard available <= bodyLimit - body.count else {
                    return .failed("body over the \(bodyLimit)-byte limit (delimited by close)")
                }
                body.append(contentsOf: pending[cursor...])
                cursor = pending.count
                return .needMore
            case .done(let outcome):
                return outcome
            }
        }
    }

    /// After the empty line: picks the body framing, or starts over after an interim (1xx) response.
    private mutating func endOfHead() -> Outcome? {
        if (100..<200).contains(status) {
            guard status != 101 else { return .failed("unexpected 101 Switching Protocols") }
            // An interim response (100 Continue, 103 Early Hints): the final one follows.
            contentLength = nil
            chunked = false
            state = .statusLine
            return nil
        }
        let framing: Framing
        if status == 204 || status == 304 {
            framing = .none
        } else if chunked {
            // RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length.
            framing = .chunked
        } else if let contentLength {
            framing = .length(contentLength)
        } else {
            framing = .untilClose
        }
        switch framing {
        case .none:
            return .complete(status: status, body: [])
        case .length(let length):
            guard length <= bodyLimit else { return .failed("body of \(length) bytes over the \(bodyLimit)-byte limit") }
            if length == 0 { return .complete(status: status, body: []) }
            state = .body(remaining: length)
        case .chunked:
            state = .chunkSize
        case .untilClose:
            state = .untilClose
        }
        return nil
    }

    private mutating func parseStatusLine(_ line: ArraySlice<UInt8>) -> Outcome? {
        // HTTP-version SP 3DIGIT [SP reason-phrase]; some servers leave out the space before an empty reason.
        let bytes = Array(line)
        guard bytes.count >= 12, bytes.starts(with: Self.versionPrefix), bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1"),
              bytes[8] == UInt8(ascii: " "),
              bytes[9...11].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              bytes.count == 12 || bytes[12] == UInt8(ascii: " ")
        else { return .failed("malformed status line \(Self.quoted(line))") }
        status = bytes[9...11].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard status >= 100 else { return .failed("malformed status line \(Self.quoted(line))") }
        return nil
    }

    private mutating func parseHeader(_ line: ArraySlice<UInt8>) -> Outcome? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
              !line[line.startIndex..<colon].contains(where: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
        else {
            // Also rejects obsolete line folding (a line starting with a space), as RFC 9112 allows.
            return .failed("malformed header line \(Self.quoted(line))")
        }
        let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
        let value = Self.trimmed(line[(colon + 1)...])
        switch name {
        case "content-length":
            guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return .failed("invalid Content-Length \(Self.quoted(value))")
            }
            let length = value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            if let contentLength, contentLength != length {
                return .failed("conflicting Content-Length headers (\(contentLength) and \(length))")
            }
            contentLength = length
        case "transfer-encoding":
            let codings = String(decoding: value, as: UTF8.self).lowercased().split(separator: ",")
                .map { $0.trimmingSpaces }.filter { !$0.isEmpty }
            for (index, coding) in codings.enumerated() {
                if coding == "chunked" && index == codings.count - 1 && !chunked {
                    chunked = true
                } else if coding != "identity" {
                    return .failed("unsupported Transfer-Encoding \(Self.quoted(value))")
                }
            }
        default:
            break
        }
        return nil
    }

    /// Fails at once when the first bytes cannot begin `HTTP/1.`: a server that answers with
    /// something else (an SSH banner, TLS, a binary protocol) may never send a newline.
    private func earlyMismatch() -> Outcome? {
        let available = pending[cursor...]
        let compared = min(available.count, Self.versionPrefix.count)
        guard compared > 0, !available.prefix(compared).elementsEqual(Self.versionPrefix.prefix(compared)) else { return nil }
        let firstLine = available.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        return .failed("malformed status line \(Self.quoted(firstLine))")
    }

    /// The next line (without CR LF or a bare LF) or `.some(nil)` when it is not complete yet; `nil`
    /// when the line, complete or not, exceeds `limit`. `counting` adds the line to the head's size.
    private mutating func nextLine(limit: Int, counting: Bool) -> ArraySlice<UInt8>?? {
        let available = pending[cursor...]
        guard let newline = available.firstIndex(of: UInt8(ascii: "\n")) else {
            return available.count > limit ? nil : .some(nil)
        }
        let length = newline + 1 - cursor
        guard length <= limit else { return nil }
        var end = newline
        if end > cursor && pending[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = pending[cursor..<end]
        cursor = newline + 1
        if counting { headBytes += length }
        return .some(line)
    }

    private func lineOverflow(limit: Int, what: String) -> Outcome {
        .failed("\(what) over \(limit) bytes")
    }

    // MARK: - Helpers

    private static let versionPrefix = Array("HTTP/1.".utf8)
    private static let chunkLineLimit = 4096

    /// `1*HEXDIG [ BWS ";" chunk-ext ]`; `nil` for anything else or a size over 2^60.
    private static func chunkSize(_ line: ArraySlice<UInt8>) -> Int? {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let digit = hexValue(line[index]) {
            guard digits < 15 else { return nil }
            size = size << 4 | digit
            digits += 1
            index += 1
        }
        guard digits > 0 else { return nil }
        let rest = trimmed(line[index...])
        guard rest.isEmpty || rest.first == UInt8(ascii: ";") else { return nil }
        return size
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { slice.removeFirst() }
        while let last = slice.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { slice.removeLast() }
        return slice
    }

    /// Up to 40 bytes as a quoted string, non-printable bytes as `\xNN`, for failure messages.
    static func quoted(_ bytes: some Collection<UInt8>) -> String {
        var text = "\""
        for byte in bytes.prefix(40) {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        if bytes.count > 40 { text += "…" }
        return text + "\""
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
