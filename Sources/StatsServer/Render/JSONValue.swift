import SwitchmanCore
/// A JSON document with object keys kept in the order they were written, so output is deterministic
/// and follows the documented schema order (docs/STATS.md).
indirect enum JSONValue: Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case bool(Bool)
    case null

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.serialized() == rhs.serialized()
    }

    /// `value` as a string, or `null` when absent.
    static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
    /// `value` as a number, or `null` when absent.
    static func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
    /// `value` as an integer, or `null` when absent.
    static func integer(_ value: Int?) -> JSONValue { value.map { .integer(Int64($0)) } ?? .null }

    /// Pretty-printed text, two spaces per level, `\n` line ends, no trailing newline.
    func serialized() -> String {
        var out = ""
        write(into: &out, indent: 0)
        return out
    }

    private func write(into out: inout String, indent: Int) {
        switch self {
        case .object(let pairs):
            if pairs.isEmpty { out += "{}"; return }
            out += "{\n"
            for (i, (key, value)) in pairs.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                JSONValue.writeString(key, into: &out)
                out += ": "
                value.write(into: &out, indent: indent + 1)
                out += i == pairs.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "}"
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += String(repeating: "  ", count: indent + 1)
                item.write(into: &out, indent: indent + 1)
                out += i == items.count - 1 ? "\n" : ",\n"
            }
            out += String(repeating: "  ", count: indent) + "]"
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .integer(let n): out += String(n)
        case .unsigned(let n): out += String(n)
        case .number(let x): out += StatsFormat.jsonNumber(x)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        JSONText.appendQuoted(s, to: &out)
    }
}
