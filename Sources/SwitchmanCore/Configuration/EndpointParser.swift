/// Reads `host:port` as written in `proxy.conf`: `127.0.0.1:5432`, `db.example:5432`,
/// `[::1]:5432`, and `*:5432` for every IPv4 address (`0.0.0.0`).
public enum EndpointParser {
    /// Why a text is not an endpoint: a message that ends with the offending text.
    public struct Failure: Error, Equatable, CustomStringConvertible {
        /// What is wrong, e.g. `expected host:port, got "abc"`.
        public let message: String
        /// The message.
        public var description: String { message }
    }

    /// The endpoint `text` names. Port 0 ("any free port") is accepted only with `allowPortZero`,
    /// which is for listening addresses (tests bind port 0); a server always needs its port.
    public static func parse(_ text: String, allowPortZero: Bool = false) throws(Failure) -> Endpoint {
        let text = text.trimmingSpaces
        let got = "got \"\(text)\""
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw Failure(message: "expected [IPv6]:port, \(got)")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw Failure(message: "expected an IPv6 address between brackets, \(got)")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw Failure(message: "expected host:port, \(got)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") && host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) {
                throw Failure(message: "an IPv6 address needs brackets, as in [::1]:5432, \(got)")
            }
            guard !host.isEmpty else { throw Failure(message: "expected host:port, host is missing, \(got)") }
            guard host == "*" || host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw Failure(message: "expected a host name or address before the port, \(got)")
            }
        }
        guard let port = DurationParser.wholeNumber(portText), port <= 65_535 else {
            throw Failure(message: "expected a port from \(allowPortZero ? 0 : 1) to 65535, \(got)")
        }
        if port == 0 && !allowPortZero {
            throw Failure(message: "port 0 is only allowed for a listening address, \(got)")
        }
        return Endpoint(host: host == "*" ? "0.0.0.0" : String(host), port: UInt16(port))
    }
}
