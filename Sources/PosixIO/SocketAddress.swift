import Glibc

/// An IPv4 or IPv6 socket address (`sockaddr_in` / `sockaddr_in6`).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address family and its bytes.
    public enum Storage: Sendable, Hashable {
        case v4(address: UInt32, port: UInt16)  // both in network byte order
        case v6(address: [UInt8], port: UInt16, scope: UInt32)  // port in network byte order
    }

    /// The address family and its bytes.
    public let storage: Storage

    public init(storage: Storage) { self.storage = storage }

    /// Parses an IPv4 or IPv6 literal (no brackets) with a port; `nil` for anything else (e.g. a host name).
    public init?(literal host: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            storage = .v4(address: v4.s_addr, port: port.bigEndian)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            storage = .v6(address: bytes, port: port.bigEndian, scope: 0)
            return
        }
        return nil
    }

    /// Reads a `sockaddr` filled in by the kernel (accept, getsockname) or getaddrinfo.
    public init?(_ pointer: UnsafePointer<sockaddr>) {
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in.self)
            storage = .v4(address: sin.sin_addr.s_addr, port: sin.sin_port)
        case AF_INET6:
            var sin6 = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in6.self)
            let bytes = withUnsafeBytes(of: &sin6.sin6_addr) { Array($0) }
            storage = .v6(address: bytes, port: sin6.sin6_port, scope: sin6.sin6_scope_id)
        default:
            return nil
        }
    }

    /// `AF_INET` or `AF_INET6`.
    public var family: Int32 {
        switch storage {
        case .v4: return AF_INET
        case .v6: return AF_INET6
        }
    }

    /// The port in host byte order.
    public var port: UInt16 {
        switch storage {
        case .v4(_, let port), .v6(_, let port, _): return UInt16(bigEndian: port)
        }
    }

    /// The same address with another port.
    public func with(port: UInt16) -> SocketAddress {
        switch storage {
        case .v4(let address, _): return SocketAddress(storage: .v4(address: address, port: port.bigEndian))
        case .v6(let address, _, let scope): return SocketAddress(storage: .v6(address: address, port: port.bigEndian, scope: scope))
        }
    }

    /// The address without the port, as text.
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch storage {
        case .v4(let address, _):
            var a = in_addr(s_addr: address)
            inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
        case .v6(let address, _, _):
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: address) }
            inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
        }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String {
        switch storage {
        case .v4: return "\(host):\(port)"
        case .v6: return "[\(host)]:\(port)"
        }
    }

    /// Calls `body` with this address as a `sockaddr` pointer and its length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        switch storage {
        case .v4(let address, let port):
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port
            sin.sin_addr.s_addr = address
            return try withUnsafePointer(to: &sin) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .v6(let address, let port, let scope):
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port
            sin6.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: address) }
            return try withUnsafePointer(to: &sin6) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
    }
}
