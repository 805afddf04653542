import Glibc

/// Blocking name resolution (getaddrinfo). Never call it on an event loop thread: the Reactor's
/// resolver runs it on a thread of its own and posts the answer back.
public enum NameResolution {
    /// Every TCP address of `host`, IPv4 first; literals are returned as they are without a lookup.
    public static func resolve(host: String, port: UInt16) -> Result<[SocketAddress], ResolutionError> {
        if let literal = SocketAddress(literal: host, port: port) { return .success([literal]) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            return .failure(ResolutionError(host: host, message: String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(first) }
        var v4: [SocketAddress] = []
        var v6: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let sa = entry.pointee.ai_addr, let address = SocketAddress(UnsafePointer(sa)) {
                if address.family == AF_INET { if !v4.contains(address) { v4.append(address) } }
                else if !v6.contains(address) { v6.append(address) }
            }
            cursor = entry.pointee.ai_next
        }
        let all = v4 + v6
        return all.isEmpty ? .failure(ResolutionError(host: host, message: "no address")) : .success(all)
    }
}

/// A host name that did not resolve.
public struct ResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name looked up.
    public let host: String
    /// gai_strerror's text.
    public let message: String
    public var description: String { "cannot resolve \(host): \(message)" }

    public init(host: String, message: String) {
        self.host = host
        self.message = message
    }
}
