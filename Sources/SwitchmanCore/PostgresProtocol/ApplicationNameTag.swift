/// The client's address in the database (`client_address: application_name` on a listener): a
/// StartupMessage rewritten so its `application_name` is `<original> [<client ip:port>]`, which
/// `pg_stat_activity` and the server log show. PostgreSQL has no PROXY protocol; this is the one
/// field every client may set and every server reports.
///
/// The rewrite works on the packet's bytes: every other parameter goes through byte for byte (names
/// and values are not decoded and encoded again). The new value stays within PostgreSQL's 63 bytes
/// (NAMEDATALEN − 1; the server would cut a longer one from the end, losing the address): the
/// original is trimmed first, at a UTF-8 character boundary. A client that sent no `application_name`
/// gets `[<ip:port>]` alone.
public enum ApplicationNameTag {
    /// Longest `application_name` PostgreSQL keeps, in bytes.
    public static let maximumLength = 63

    /// The value for `original` (nil: the client sent none) and a client at `client` (`ip:port`).
    public static func value(original: [UInt8]?, client: String) -> [UInt8] {
        let suffix = Array("[\(client)]".utf8)
        guard let original, !original.isEmpty else { return Array(suffix.prefix(maximumLength)) }
        let room = maximumLength - suffix.count - 1  // one space between
        guard room > 0 else { return Array(suffix.prefix(maximumLength)) }
        var kept = Array(original.prefix(room))
        if kept.count < original.count {
            // Never end inside a multi-byte character: find the last one's lead byte and drop the
            // character when the cut left it short.
            var lead = kept.count - 1
            while lead > 0 && kept[lead] & 0xC0 == 0x80 { lead -= 1 }
            let first = kept[lead]
            let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
            if kept.count - lead < length { kept.removeSubrange(lead...) }
        }
        return kept + [0x20] + suffix
    }

    /// `packet` (a whole StartupMessage: length, protocol version, name/value pairs, final zero) with
    /// its `application_name` tagged for `client`, or nil when the packet is not a well-formed
    /// StartupMessage (then it goes on untouched, and the server judges it).
    public static func rewrite(startupPacket packet: [UInt8], client: String) -> [UInt8]? {
        guard packet.count >= 9, packet.count <= StartupPacket.maximumLength else { return nil }
        let declared = Int(packet[0]) << 24 | Int(packet[1]) << 16 | Int(packet[2]) << 8 | Int(packet[3])
        guard declared == packet.count, packet[packet.count - 1] == 0 else { return nil }
        // Pairs of zero-terminated strings from offset 8 up to the final zero.
        var pairs: [(name: Range<Int>, value: Range<Int>)] = []
        var offset = 8
        let end = packet.count - 1
        while offset < end {
            guard let nameEnd = packet[offset..<end].firstIndex(of: 0) else { return nil }
            let valueStart = nameEnd + 1
            guard valueStart < end, let valueEnd = packet[valueStart..<end].firstIndex(of: 0) else { return nil }
            pairs.append((offset..<nameEnd, valueStart..<valueEnd))
            offset = valueEnd + 1
        }
        guard offset == end else { return nil }
        let name = Array("application_name".utf8)
        let index = pairs.firstIndex { packet[$0.name].elementsEqual(name) }
        let original = index.map { Array(packet[pairs[$0].value]) }
        let tagged = value(original: original, client: client)
        var out: [UInt8] = [0, 0, 0, 0]
        out.reserveCapacity(packet.count + tagged.count + name.count + 2)
        out.append(contentsOf: packet[4..<8])
        for (i, pair) in pairs.enumerated() {
            out.append(contentsOf: packet[pair.name]); out.append(0)
            if i == index {
                out.append(contentsOf: tagged)
            } else {
                out.append(contentsOf: packet[pair.value])
            }
            out.append(0)
        }
        if index == nil {
            out.append(contentsOf: name); out.append(0)
            out.append(contentsOf: tagged); out.append(0)
        }
        out.append(0)
        guard out.count <= StartupPacket.maximumLength else { return nil }
        let length = UInt32(out.count)
        out[0] = UInt8(length >> 24); out[1] = UInt8(length >> 16 & 0xFF); out[2] = UInt8(length >> 8 & 0xFF); out[3] = UInt8(length & 0xFF)
        return out
    }
}
