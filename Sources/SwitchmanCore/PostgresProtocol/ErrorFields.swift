/// The fields of an ErrorResponse (`E`) or NoticeResponse (`N`), in wire order.
///
/// Each field is a one-byte code and a string: `S` severity (localized), `V` severity (never
/// localized, PostgreSQL ≥ 9.6), `C` SQLSTATE, `M` message, `D` detail, `H` hint, `P` position,
/// `W` where, `F` file, `L` line, `R` routine, and others.
public struct ErrorFields: Hashable, Sendable {
    /// One field: its code byte (e.g. `UInt8(ascii: "C")`) and value.
    public struct Field: Hashable, Sendable {
        /// Field code, never 0.
        public let code: UInt8
        /// Field value, decoded as UTF-8 (invalid sequences become U+FFFD).
        public let value: String

        /// Creates a field.
        public init(code: UInt8, value: String) {
            self.code = code
            self.value = value
        }
    }

    /// All fields in wire order.
    public let fields: [Field]

    /// Creates fields from a list.
    public init(fields: [Field]) {
        self.fields = fields
    }

    /// Parses a message body (what follows type and length). Lenient: parsing stops at the
    /// terminating NUL or at the end of `body`; a last field without its NUL (a truncated body) is
    /// dropped.
    public init(body: some Collection<UInt8>) {
        var fields: [Field] = []
        var iterator = body.makeIterator()
        var code: UInt8? = nil
        var value: [UInt8] = []
        while let byte = iterator.next() {
            guard let current = code else {
                if byte == 0 { break }
                code = byte
                continue
            }
            if byte == 0 {
                fields.append(Field(code: current, value: String(decoding: value, as: UTF8.self)))
                code = nil
                value.removeAll(keepingCapacity: true)
            } else {
                value.append(byte)
            }
        }
        self.fields = fields
    }

    /// The value of the first field with this code, if any.
    public subscript(code: UInt8) -> String? {
        fields.first { $0.code == code }?.value
    }

    /// `V`, the non-localized severity (`FATAL`, `ERROR`, `PANIC`, `WARNING`, `NOTICE`…), else `S`.
    public var severity: String? { self[UInt8(ascii: "V")] ?? self[UInt8(ascii: "S")] }
    /// `S`, the severity as the server's `lc_messages` spells it.
    public var localizedSeverity: String? { self[UInt8(ascii: "S")] }
    /// `C`, the five-character SQLSTATE, e.g. `57P03`.
    public var sqlstate: String? { self[UInt8(ascii: "C")] }
    /// `M`, the primary message.
    public var message: String? { self[UInt8(ascii: "M")] }
    /// `D`, the detail.
    public var detail: String? { self[UInt8(ascii: "D")] }
    /// `H`, the hint.
    public var hint: String? { self[UInt8(ascii: "H")] }

    /// SQLSTATE 57P03 `cannot_connect_now`: the node is starting up, shutting down, in crash
    /// recovery or not yet consistent. Before authentication this is the signal to try another node.
    public var isCannotConnectNow: Bool { sqlstate == "57P03" }
}
