/// Builders for the few PostgreSQL messages Switchman writes itself, and the constant requests.
public enum PostgresMessages {
    /// The one-byte answer refusing an SSLRequest (`N`); the client continues in plaintext
    /// (or, with `sslmode=require`, gives up with "server does not support SSL").
    public static let sslRefused: [UInt8] = [UInt8(ascii: "N")]
    /// The one-byte answer refusing a GSSENCRequest (`N`, the same byte).
    public static let gssEncRefused: [UInt8] = [UInt8(ascii: "N")]
    /// An SSLRequest as libpq sends it.
    public static let sslRequest: [UInt8] = packet(code: StartupPacket.sslRequestCode, body: [])
    /// A GSSENCRequest as libpq sends it.
    public static let gssEncRequest: [UInt8] = packet(code: StartupPacket.gssEncRequestCode, body: [])

    /// An ErrorResponse (`E`) with the fields PostgreSQL ≥ 9.6 puts first: `S` and `V` severity,
    /// `C` SQLSTATE, `M` message, then `D` detail and `H` hint when given. NUL bytes inside the
    /// strings would end a field early, so they are removed.
    public static func errorResponse(
        severity: String = "FATAL",
        sqlstate: String,
        message: String,
        detail: String? = nil,
        hint: String? = nil
    ) -> [UInt8] {
        var fields: [ErrorFields.Field] = [
            .init(code: UInt8(ascii: "S"), value: severity),
            .init(code: UInt8(ascii: "V"), value: severity),
            .init(code: UInt8(ascii: "C"), value: sqlstate),
            .init(code: UInt8(ascii: "M"), value: message),
        ]
        if let detail { fields.append(.init(code: UInt8(ascii: "D"), value: detail)) }
        if let hint { fields.append(.init(code: UInt8(ascii: "H"), value: hint)) }
        return errorResponse(ErrorFields(fields: fields))
    }

    /// An ErrorResponse (`E`) carrying exactly these fields, in order (NUL bytes removed).
    public static func errorResponse(_ fields: ErrorFields) -> [UInt8] {
        var body: [UInt8] = []
        for field in fields.fields where field.code != 0 {
            body.append(field.code)
            appendCString(field.value, to: &body)
        }
        body.append(0)
        return typedMessage(type: UInt8(ascii: "E"), body: body)
    }

    /// A CancelRequest for `key` (16 bytes with a 4-byte secret, up to 268 with protocol 3.2's).
    public static func cancelRequest(_ key: CancelKey) -> [UInt8] {
        var body = bigEndian(key.processID)
        body.append(contentsOf: key.secret)
        return packet(code: StartupPacket.cancelRequestCode, body: body)
    }

    /// A StartupMessage with these parameters in order (NUL bytes in names and values removed).
    public static func startupMessage(
        parameters: [(name: String, value: String)],
        protocolVersion: ProtocolVersion = .v3_0
    ) -> [UInt8] {
        var body: [UInt8] = []
        for (name, value) in parameters {
            appendCString(name, to: &body)
            appendCString(value, to: &body)
        }
        body.append(0)
        return packet(code: protocolVersion.code, body: body)
    }

    /// A printable name for a message type byte: `'E'` for letters and digits, `0x1b` otherwise.
    static func describe(type: UInt8) -> String {
        let scalar = Unicode.Scalar(type)
        if scalar.properties.isAlphabetic && type < 0x80 || (0x30...0x39).contains(type) {
            return "'\(Character(scalar))'"
        }
        let hex = String(type, radix: 16)
        return "0x" + (hex.count == 1 ? "0" + hex : hex)
    }

    /// Length (including itself) + code + body: the framing of every start-up packet.
    private static func packet(code: UInt32, body: [UInt8]) -> [UInt8] {
        bigEndian(UInt32(truncatingIfNeeded: 8 + body.count)) + bigEndian(code) + body
    }

    /// Type byte + length (including itself) + body: the framing of every other message.
    private static func typedMessage(type: UInt8, body: [UInt8]) -> [UInt8] {
        [type] + bigEndian(UInt32(truncatingIfNeeded: 4 + body.count)) + body
    }

    private static func appendCString(_ string: String, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: string.utf8.lazy.filter { $0 != 0 })
        bytes.append(0)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
         UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }
}
