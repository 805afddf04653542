/// HTTP basic authentication (RFC 7617) for the stats page's optional `stats.auth: user:password`.
public enum BasicAuth {
    /// The challenge sent with 401.
    public static let challenge = "Basic realm=\"switchman\", charset=\"UTF-8\""

    /// Whether an `Authorization` header value carries exactly `expected` (`user:password`).
    ///
    /// The scheme is matched case-insensitively; the credentials are compared in time independent
    /// of where they differ, so the password cannot be guessed byte by byte from response times.
    public static func matches(header: String?, expected: String) -> Bool {
        guard let header else { return false }
        let trimmed = Substring(header).trimmingBlanks()
        guard let space = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return false }
        guard trimmed[..<space].lowercased() == "basic" else { return false }
        let token = trimmed[space...].trimmingBlanks()
        guard let decoded = decodeBase64(token) else { return false }
        return constantTimeEquals(decoded, Array(expected.utf8))
    }

    /// Standard base64 (with `=` padding, which may be omitted); `nil` for anything else.
    static func decodeBase64(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        var padding = 0
        for byte in text.utf8 {
            if byte == 0x3D {
                padding += 1
                continue
            }
            guard padding == 0 else { return nil }
            let v: UInt8
            switch byte {
            case 0x41...0x5A: v = byte - 0x41
            case 0x61...0x7A: v = byte - 0x61 + 26
            case 0x30...0x39: v = byte - 0x30 + 52
            case 0x2B: v = 62
            case 0x2F: v = 63
            default: return nil
            }
            values.append(v)
        }
        guard padding <= 2, values.count % 4 != 1, padding == 0 || (values.count + padding) % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var i = 0
        while i + 1 < values.count {
            let count = min(4, values.count - i)
            var n: UInt32 = 0
            for k in 0..<4 { n = n << 6 | (k < count ? UInt32(values[i + k]) : 0) }
            out.append(UInt8(n >> 16 & 0xFF))
            if count > 2 { out.append(UInt8(n >> 8 & 0xFF)) }
            if count > 3 { out.append(UInt8(n & 0xFF)) }
            i += 4
        }
        return out
    }

    /// Equality whose running time depends only on `expected`'s length, not on the contents.
    static func constantTimeEquals(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var diff: UInt8 = given.count == expected.count ? 0 : 1
        for i in 0..<expected.count {
            diff |= (i < given.count ? given[i] : 0) ^ expected[i]
        }
        return diff == 0
    }
}
