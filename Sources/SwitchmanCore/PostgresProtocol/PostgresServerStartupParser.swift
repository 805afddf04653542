/// Follows a PostgreSQL server's first messages, fed in chunks split anywhere, and reports what the
/// proxy needs: an early error (to retry elsewhere), the start of authentication (no retry after it),
/// the BackendKeyData (for cancel routing) and ReadyForQuery (sniffing can stop).
///
/// It only observes: the caller still forwards the bytes itself. It buffers at most one message
/// body, and at most `maximumBufferedBodyLength` bytes of it (longer notices and errors are parsed
/// from their first 64 KiB, longer ParameterStatus messages are skipped). Before the first
/// authentication request it applies libpq's limits (`R`/`v` ≤ 2000 bytes, `E`/`N` ≤ 30000 bytes)
/// and accepts only `R`, `E`, `N` and `v`, so a server speaking something else is recognised within
/// its first five bytes.
public struct PostgresServerStartupParser: Sendable {
    /// Most body bytes kept for one message.
    public static let maximumBufferedBodyLength = 65_536
    /// Largest ErrorResponse or NoticeResponse accepted before authentication (libpq's limit).
    public static let maximumEarlyErrorLength = 30_000
    /// Largest AuthenticationRequest or NegotiateProtocolVersion accepted (libpq's limit).
    public static let maximumAuthenticationLength = 2_000

    private enum Phase: Sendable {
        case awaitingEncryptionAnswer(EncryptionRequest)
        case header
        case body
        case finished
    }

    private var phase: Phase
    private var header: [UInt8] = []
    private var messageType: UInt8 = 0
    private var remainingBodyBytes = 0
    private var keptBodyLimit = 0
    private var truncated = false
    private var body: [UInt8] = []

    /// True once an AuthenticationRequest (`R`) arrived: from then on the session belongs to this node.
    public private(set) var authenticationStarted = false
    /// True once sniffing is over (encryption accepted, early error, FATAL or PANIC error,
    /// ReadyForQuery, or not PostgreSQL); later `feed` calls return no events.
    public var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    /// No message has been started but not completed: bytes of another message could follow here
    /// in the client's stream (false before an encryption answer and once finished).
    public var atMessageBoundary: Bool {
        if case .header = phase { return header.isEmpty }
        return false
    }

    /// Creates a parser. Pass the request when the client's first packet was an SSLRequest or a
    /// GSSENCRequest, so the one-byte answer is read as such.
    public init(expectingAnswerTo request: EncryptionRequest? = nil) {
        if let request {
            phase = .awaitingEncryptionAnswer(request)
        } else {
            phase = .header
        }
    }

    /// Announces that the client sent (another) SSLRequest or GSSENCRequest, e.g. an SSLRequest
    /// after a GSSENCRequest answered `N`. Returns false and changes nothing when the parser is
    /// finished or in the middle of a message.
    @discardableResult
    public mutating func expectEncryptionAnswer(to request: EncryptionRequest) -> Bool {
        switch phase {
        case .header where header.isEmpty, .awaitingEncryptionAnswer:
            phase = .awaitingEncryptionAnswer(request)
            return true
        case .header, .body, .finished:
            return false
        }
    }

    /// Consumes the next chunk of server bytes and returns the events it completed, in order.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [ServerStartupEvent] {
        if isFinished { return [] }
        if let events = bytes.withContiguousStorageIfAvailable({ feed(buffer: $0) }) {
            return events
        }
        return Array(bytes).withUnsafeBufferPointer { feed(buffer: $0) }
    }

    private mutating func feed(buffer: UnsafeBufferPointer<UInt8>) -> [ServerStartupEvent] {
        var events: [ServerStartupEvent] = []
        var index = 0
        while index < buffer.count {
            switch phase {
            case .finished:
                return events
            case .awaitingEncryptionAnswer(let request):
                let byte = buffer[index]
                switch (byte, request) {
                case (UInt8(ascii: "S"), .ssl), (UInt8(ascii: "G"), .gss):
                    index += 1
                    events.append(.encryptionAccepted(request))
                    phase = .finished
                case (UInt8(ascii: "N"), _):
                    index += 1
                    events.append(.encryptionRefused(request))
                    phase = .header
                case (UInt8(ascii: "E"), _):
                    // An old or unwilling server answers with an ErrorResponse; libpq reads it as one.
                    phase = .header
                default:
                    events.append(finish(.unexpectedEncryptionAnswer(byte)))
                }
            case .header:
                let take = min(5 - header.count, buffer.count - index)
                header.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<(index + take)]))
                index += take
                if header.count == 5, let event = startMessage() {
                    events.append(event)
                }
            case .body:
                let take = min(remainingBodyBytes, buffer.count - index)
                let keep = max(0, min(take, keptBodyLimit - body.count))
                body.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<(index + keep)]))
                index += take
                remainingBodyBytes -= take
                if remainingBodyBytes == 0, let event = completeMessage() {
                    events.append(event)
                }
            }
        }
        return events
    }

    /// Validates the header just read; returns an event when the message ends here or is refused.
    private mutating func startMessage() -> ServerStartupEvent? {
        let type = header[0]
        let rawLength = UInt32(header[1]) << 24 | UInt32(header[2]) << 16 | UInt32(header[3]) << 8 | UInt32(header[4])
        let length = Int(Int32(bitPattern: rawLength))
        header.removeAll(keepingCapacity: true)
        guard let (range, keepLimit) = limits(for: type), range.contains(length) else {
            return finish(.unexpectedServerMessage(type: type, length: length))
        }
        messageType = type
        remainingBodyBytes = length - 4
        keptBodyLimit = min(keepLimit, remainingBodyBytes)
        truncated = remainingBodyBytes > keptBodyLimit
        body.removeAll(keepingCapacity: true)
        phase = .body
        return remainingBodyBytes == 0 ? completeMessage() : nil
    }

    /// Allowed length range (length field included) and body bytes to keep, per message type;
    /// nil for a type that has no place in a start-up.
    private func limits(for type: UInt8) -> (ClosedRange<Int>, Int)? {
        let buffered = Self.maximumBufferedBodyLength
        switch (type, authenticationStarted) {
        case (UInt8(ascii: "R"), _): return (8...Self.maximumAuthenticationLength, 4)
        case (UInt8(ascii: "v"), _): return (12...Self.maximumAuthenticationLength, buffered)
        case (UInt8(ascii: "E"), false), (UInt8(ascii: "N"), false): return (5...Self.maximumEarlyErrorLength, buffered)
        case (UInt8(ascii: "E"), true), (UInt8(ascii: "N"), true): return (5...Int(Int32.max), buffered)
        case (UInt8(ascii: "S"), true): return (6...Int(Int32.max), buffered)
        case (UInt8(ascii: "K"), true):
            return ((8 + CancelKey.minimumSecretLength)...(8 + CancelKey.maximumSecretLength), buffered)
        case (UInt8(ascii: "Z"), true): return (5...5, 1)
        default: return nil
        }
    }

    /// Interprets the complete (possibly truncated) body of the current message.
    private mutating func completeMessage() -> ServerStartupEvent? {
        phase = .header
        switch messageType {
        case UInt8(ascii: "R"):
            authenticationStarted = true
            return .authenticationRequested(code: Self.readUInt32(body, at: 0))
        case UInt8(ascii: "E"):
            let fields = ErrorFields(body: body)
            if authenticationStarted {
                // FATAL and PANIC end the session: the server closes the connection next.
                if fields.severity == "FATAL" || fields.severity == "PANIC" { phase = .finished }
                return .error(fields)
            }
            phase = .finished
            return .errorBeforeAuth(fields)
        case UInt8(ascii: "N"):
            return .notice(ErrorFields(body: body))
        case UInt8(ascii: "v"):
            guard let event = Self.negotiateProtocolVersion(body) else {
                return finish(.badServerMessage(type: messageType))
            }
            return event
        case UInt8(ascii: "S"):
            if truncated { return nil }
            let strings = Self.cStrings(body)
            guard let strings, strings.count == 2 else { return finish(.badServerMessage(type: messageType)) }
            return .parameterStatus(name: strings[0], value: strings[1])
        case UInt8(ascii: "K"):
            return .backendKey(CancelKey(processID: Self.readUInt32(body, at: 0), secret: Array(body[4...])))
        case UInt8(ascii: "Z"):
            phase = .finished
            return .readyForQuery(transactionStatus: body[0])
        default:
            // limits(for:) admits no other type.
            return finish(.unexpectedServerMessage(type: messageType, length: body.count + 4))
        }
    }

    private mutating func finish(_ reason: NotPostgresReason) -> ServerStartupEvent {
        phase = .finished
        body = []
        header = []
        return .notPostgres(reason)
    }

    /// Body: Int32 newest version, Int32 count, then that many C strings and nothing else.
    private static func negotiateProtocolVersion(_ body: [UInt8]) -> ServerStartupEvent? {
        guard body.count >= 8 else { return nil }
        let version = ProtocolVersion(code: readUInt32(body, at: 0))
        let count = readUInt32(body, at: 4)
        guard let names = cStrings(body[8...]), names.count == Int(count) else { return nil }
        return .negotiateProtocolVersion(newestVersion: version, unrecognizedOptions: names)
    }

    /// NUL-terminated strings filling `bytes` exactly; nil when the last one has no NUL.
    private static func cStrings(_ bytes: some Collection<UInt8>) -> [String]? {
        var strings: [String] = []
        var current: [UInt8] = []
        for byte in bytes {
            if byte == 0 {
                strings.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        return current.isEmpty ? strings : nil
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
