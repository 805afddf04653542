/// Why a client's first bytes were not taken for a PostgreSQL start-up packet (for logs and tests).
public enum NotPostgresReason: Hashable, Sendable, CustomStringConvertible {
    /// The length field is below 8 (the smallest packet).
    case lengthTooSmall(Int)
    /// The length field is above `StartupPacket.maximumLength` (10000).
    case lengthTooLarge(Int)
    /// An SSLRequest or GSSENCRequest whose length is not 8.
    case badRequestLength(code: UInt32, length: Int)
    /// A CancelRequest outside 16…268 bytes.
    case badCancelLength(Int)
    /// A protocol code that is no known request and not protocol 3.x.
    case unsupportedCode(UInt32)
    /// A StartupMessage whose parameters are not NUL-terminated pairs followed by a final NUL.
    case badParameterLayout
    /// A server message that cannot start or continue a PostgreSQL start-up (server side).
    case unexpectedServerMessage(type: UInt8, length: Int)
    /// A server answer to an SSLRequest or GSSENCRequest other than `S`/`G`, `N` or `E`.
    case unexpectedEncryptionAnswer(UInt8)
    /// A server message whose content contradicts its type (e.g. a BackendKeyData secret out of range).
    case badServerMessage(type: UInt8)

    /// A short English explanation.
    public var description: String {
        switch self {
        case .lengthTooSmall(let length): "length \(length) below 8"
        case .lengthTooLarge(let length): "length \(length) above \(StartupPacket.maximumLength)"
        case .badRequestLength(let code, let length): "request \(code) with length \(length), expected 8"
        case .badCancelLength(let length): "cancel request length \(length) outside 16…268"
        case .unsupportedCode(let code): "protocol code \(code) is neither a known request nor 3.x"
        case .badParameterLayout: "start-up parameters are not NUL-terminated pairs ending in NUL"
        case .unexpectedServerMessage(let type, let length):
            "unexpected server message \(PostgresMessages.describe(type: type)) of length \(length)"
        case .unexpectedEncryptionAnswer(let byte):
            "unexpected answer \(PostgresMessages.describe(type: byte)) to an encryption request"
        case .badServerMessage(let type): "malformed server message \(PostgresMessages.describe(type: type))"
        }
    }
}
