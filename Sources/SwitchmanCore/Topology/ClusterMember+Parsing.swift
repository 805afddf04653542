import Foundation

extension ClusterMember {
    /// Decodes a `members/<name>` znode. Never throws: a payload that is not a JSON object, or whose
    /// `conn_url` is missing or unusable, yields `.invalid(reason:)`.
    ///
    /// - Parameters:
    ///   - name: the member name (the znode's last path component).
    ///   - json: the znode's bytes, exactly as stored (not NUL-terminated).
    public static func parse(name: String, json: some Sequence<UInt8>) -> MemberEntry {
        let data = Data(json)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            return .invalid(reason: "invalid JSON (\(data.count) bytes)")
        }
        guard let fields = object as? [String: Any] else {
            return .invalid(reason: "member data is not a JSON object")
        }
        guard let connURL = fields["conn_url"] as? String else {
            return .invalid(reason: "no conn_url")
        }
        guard let endpoint = ConnURL.endpoint(of: connURL) else {
            return .invalid(reason: "unusable conn_url \(connURL)")
        }
        let roleText = fields["role"] as? String
        return .valid(ClusterMember(
            name: name,
            endpoint: endpoint,
            apiURL: fields["api_url"] as? String,
            role: roleText.map { MemberRole(patroni: $0) } ?? .other(""),
            state: fields["state"] as? String ?? "",
            timeline: JSONNumbers.uint64(fields["timeline"]).flatMap { Int(exactly: $0) },
            xlogLocation: JSONNumbers.uint64(fields["xlog_location"]),
            replicationState: fields["replication_state"] as? String,
            tags: parseTags(fields["tags"]),
            version: fields["version"] as? String
        ))
    }

    private static func parseTags(_ value: Any?) -> MemberTags {
        guard let tags = value as? [String: Any] else { return MemberTags() }
        var other: [String: String] = [:]
        for (key, value) in tags where !["nofailover", "noloadbalance", "nosync", "nostream"].contains(key) {
            other[key] = JSONNumbers.text(value)
        }
        return MemberTags(
            nofailover: JSONNumbers.truthy(tags["nofailover"]),
            noloadbalance: JSONNumbers.truthy(tags["noloadbalance"]),
            nosync: JSONNumbers.truthy(tags["nosync"]),
            nostream: JSONNumbers.truthy(tags["nostream"]),
            other: other
        )
    }
}

/// `conn_url` → `Endpoint`: `postgres[ql]://[user[:pw]@]host[:port][/db][?opts]`, IPv6 in brackets.
enum ConnURL {
    static func endpoint(of url: String) -> Endpoint? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = Substring(url[schemeEnd.upperBound...])
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") {
            authority = authority[authority.index(after: at)...]
        }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        var port: UInt16 = 5432
        if let portText {
            guard let parsed = UInt16(portText), parsed > 0 else { return nil }
            port = parsed
        }
        return Endpoint(host: String(host), port: port)
    }
}

/// Lenient readers for the loosely typed values of Patroni's JSON.
enum JSONNumbers {
    /// A non-negative integer from a JSON number or a decimal string (`"50331648"`).
    static func uint64(_ value: Any?) -> UInt64? {
        switch value {
        case let text as String:
            return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
        case let number as NSNumber:
            if isBool(number) { return nil }
            let double = number.doubleValue
            guard double >= 0, double.rounded() == double, double < 1.8e19 else { return nil }
            return number.uint64Value
        default:
            return nil
        }
    }

    /// A tag's truth: JSON `true`, a non-zero number, or `true`/`yes`/`on`/`1` as text.
    static func truthy(_ value: Any?) -> Bool {
        switch value {
        case let flag as Bool: return flag
        case let number as NSNumber: return number.doubleValue != 0
        case let text as String: return ["true", "yes", "on", "1"].contains(text.lowercased())
        default: return false
        }
    }

    /// A JSON value as short text for display.
    static func text(_ value: Any) -> String {
        switch value {
        case let text as String: return text
        case let number as NSNumber: return isBool(number) ? (number.boolValue ? "true" : "false") : number.stringValue
        case is NSNull: return "null"
        default:
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) {
                return String(decoding: data, as: UTF8.self)
            }
            return String(describing: value)
        }
    }

    private static func isBool(_ number: NSNumber) -> Bool {
        // JSONSerialization hands booleans out as NSNumber with objCType "c"; JSON integers come
        // as "i"/"q" and fractions as "d", so "c" means a JSON true/false.
        String(cString: number.objCType) == "c"
    }
}
