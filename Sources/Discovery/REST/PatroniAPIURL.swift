/// A Patroni member's `api_url` (`http://127.0.0.1:8009/patroni`), split into what an HTTP probe
/// needs: host, port, and the path the URL carried.
///
/// Patroni serves its endpoints at the root of its REST server whatever path `api_url` ends in
/// (`/patroni` by default): Patroni's own client swaps the path for the endpoint's name. So
/// ``requestPath(for:)`` ignores ``basePath``, which is kept for messages only.
public struct PatroniAPIURL: Sendable, Hashable, CustomStringConvertible {
    /// Why an `api_url` cannot be probed.
    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// A scheme other than `http` (the probe speaks plain HTTP; `https` would need TLS).
        case unsupportedScheme(String)
        /// No `scheme://` prefix.
        case missingScheme
        /// Nothing where the host belongs.
        case missingHost
        /// A port that is not a number in 1...65535.
        case invalidPort(String)
        /// An IPv6 address without its closing bracket or without brackets at all, or text after `]`
        /// that is not `:port`.
        case malformedHost(String)

        /// The reason in words, e.g. `unsupported scheme https:// (only http:// is probed)`.
        public var description: String {
            switch self {
            case .unsupportedScheme(let scheme): "unsupported scheme \(scheme):// (only http:// is probed)"
            case .missingScheme: "no scheme:// in the URL"
            case .missingHost: "no host in the URL"
            case .invalidPort(let text): "invalid port \"\(text)\""
            case .malformedHost(let text): "malformed host \"\(text)\""
            }
        }
    }

    /// The Patroni endpoints the health checker asks for.
    public enum Resource: String, Sendable, Hashable, CaseIterable {
        /// `GET /primary`: 200 only on the leader running as primary.
        case primary
        /// `GET /health`: 200 while PostgreSQL runs.
        case health
        /// `GET /patroni`: the node's status document (always 200 while Patroni answers).
        case patroni
    }

    /// The host as written, without brackets for an IPv6 literal (`::1`); may be a name to resolve.
    public let host: String
    /// The port; 80 when the URL has none.
    public let port: UInt16
    /// The URL's path (`/patroni`), `/` when it has none; query and fragment dropped.
    public let basePath: String

    /// Creates the value from its parts.
    public init(host: String, port: UInt16, basePath: String = "/") {
        self.host = host
        self.port = port
        self.basePath = basePath
    }

    /// Parses `http://host[:port][/path][?query][#fragment]`; the scheme is case-insensitive,
    /// user information before `@` is dropped (the probe sends no credentials), IPv6 goes in brackets.
    public init(parsing text: String) throws(ParseError) {
        let url = Substring(text).trimmingASCIIWhitespace
        guard let separator = url.firstRange(of: "://") else { throw .missingScheme }
        let scheme = url[..<separator.lowerBound]
        guard scheme.lowercased() == "http" else {
            if scheme.isEmpty { throw .missingScheme }
            throw .unsupportedScheme(String(scheme))
        }
        var rest = url[separator.upperBound...]
        if let end = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        var authority = rest
        var path: Substring = "/"
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[slash...]
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }

        let hostText: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .malformedHost(String(authority)) }
            hostText = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .malformedHost(String(authority)) }
                portText = after.dropFirst()
            }
        } else {
            let colons = authority.filter { $0 == ":" }.count
            // `http://::1:8008` cannot be split into host and port: RFC 3986 wants brackets.
            guard colons <= 1 else { throw .malformedHost(String(authority)) }
            if let colon = authority.firstIndex(of: ":") {
                hostText = authority[..<colon]
                portText = authority[authority.index(after: colon)...]
            } else {
                hostText = authority
            }
        }
        guard !hostText.isEmpty else { throw .missingHost }
        var port: UInt16 = 80
        if let portText {
            // An empty port (`host:`) means the default, as RFC 3986 section 3.2.3 allows.
            if !portText.isEmpty {
                guard portText.allSatisfy(\.isASCIIDigit), let parsed = UInt16(portText), parsed > 0 else {
                    throw .invalidPort(String(portText))
                }
                port = parsed
            }
        }
        self.init(host: String(hostText), port: port, basePath: String(path))
    }

    /// The path to request for `resource`: always at the root (`/primary`), see the type's note.
    public func requestPath(for resource: Resource) -> String {
        "/" + resource.rawValue
    }

    /// The `Host` header value: `host:port`, an IPv6 literal in brackets (`[::1]:8008`).
    public var hostHeader: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// `http://host:port/path`, normalized.
    public var description: String { "http://\(hostHeader)\(basePath)" }
}

extension Substring {
    fileprivate var trimmingASCIIWhitespace: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\n" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\n" || last == "\r" { text.removeLast() }
        return text
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
