import CShims
import Glibc

/// Outcome of a non-blocking `connect(2)`.
public enum ConnectResult: Equatable, Sendable {
    /// Connected at once (rare, even on loopback).
    case connected
    /// EINPROGRESS: wait for EPOLLOUT, then read ``Socket/pendingError(_:)``.
    case inProgress
}

/// A connection taken from a listening socket.
public struct AcceptedSocket: Sendable {
    /// The new descriptor, owned by whoever called accept.
    public let fd: Int32
    /// The client's address.
    public let peer: SocketAddress?
}

/// TCP socket calls on raw descriptors. The caller owns every descriptor it gets from here and
/// closes it with ``Socket/close(_:)``.
public enum Socket {
    /// A non-blocking, close-on-exec TCP socket of the given family.
    public static func makeTCP(family: Int32) throws(IOError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try syscall("socket") { Glibc.socket(family, type, 0) }
    }

    /// A listening socket bound to `address`; `reusePort` lets every event loop bind its own
    /// socket to the same port (the kernel spreads new connections among them). `configure` sets
    /// options before the socket listens: Linux copies a listener's options to each socket it
    /// accepts when the handshake completes, which may be at once.
    public static func listen(
        on address: SocketAddress, backlog: Int32 = 4096, reusePort: Bool,
        configure: (Int32) throws(IOError) -> Void = { _ in }
    ) throws(IOError) -> Int32 {
        let fd = try makeTCP(family: address.family)
        do throws(IOError) {
            try configure(fd)
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            if address.family == AF_INET6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0) }
            let rc = address.withSockAddr { Glibc.bind(fd, $0, $1) }
            if rc != 0 { throw IOError(errno: Glibc.errno, call: "bind \(address)") }
            _ = try syscall("listen") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC; the caller owns the new descriptor.
    public static func accept(_ fd: Int32) throws(IOError) -> IOResult<AcceptedSocket> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(IOError) in
                try nonBlockingSyscall("accept4") { switchman_accept4(fd, sa, &length, flags) }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed(let client):
            let peer = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0) } }
            return .processed(AcceptedSocket(fd: client, peer: peer))
        }
    }

    /// Starts a non-blocking connect.
    public static func connect(_ fd: Int32, to address: SocketAddress) throws(IOError) -> ConnectResult {
        while true {
            let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if rc == 0 { return .connected }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EINPROGRESS { return .inProgress }
            throw IOError(errno: code, call: "connect \(address)")
        }
    }

    /// SO_ERROR: the result of a finished non-blocking connect (`nil` on success).
    public static func pendingError(_ fd: Int32) -> IOError? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 {
            return IOError(errno: Glibc.errno, call: "getsockopt(SO_ERROR)")
        }
        return value == 0 ? nil : IOError(errno: value, call: "connect")
    }

    /// read(2) into `buffer`; `.processed(0)` is end of file.
    @inline(__always)
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try nonBlockingSyscall("read") { Glibc.read(fd, buffer, count) }
    }

    /// write(2) from `buffer`.
    @inline(__always)
    public static func write(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try nonBlockingSyscall("write") { Glibc.write(fd, buffer, count) }
    }

    /// send(2) with MSG_NOSIGNAL: writing to a peer that already reset the connection gives EPIPE
    /// here instead of a SIGPIPE that would end a process which does not ignore the signal.
    @inline(__always)
    public static func send(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try nonBlockingSyscall("send") { Glibc.send(fd, buffer, count, Int32(MSG_NOSIGNAL)) }
    }

    /// send(2) with MSG_MORE (and MSG_NOSIGNAL): the kernel keeps a last partial segment back for
    /// what the caller sends next, so bytes followed at once by ``shutdownWrite(_:)`` or a close
    /// leave in one segment with the FIN. Only for bytes a half-close or close surely follows.
    @inline(__always)
    public static func sendBeforeClose(_ fd: Int32, from buffer: UnsafeRawPointer, count: Int) throws(IOError) -> IOResult<Int> {
        try nonBlockingSyscall("send") { Glibc.send(fd, buffer, count, Int32(MSG_NOSIGNAL) | Int32(MSG_MORE)) }
    }

    /// shutdown(SHUT_WR): the peer reads end of file after what was sent. A socket the peer already
    /// reset (ENOTCONN) is not an error here.
    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Sets TCP_NODELAY: without it a small request through a proxy waits for Nagle and delayed ACK.
    public static func setNoDelay(_ fd: Int32) throws(IOError) {
        try setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    /// Turns on kernel keepalive with the given timings (seconds).
    public static func setKeepalive(_ fd: Int32, idle: Int32, interval: Int32, count: Int32) throws(IOError) {
        try setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, idle)
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, interval)
        try setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, count)
    }

    /// SO_LINGER with a zero timeout: close sends RST (used to cut sessions to a demoted node fast).
    public static func setLingerZero(_ fd: Int32) {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    /// An integer socket option.
    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(IOError) {
        var v = value
        _ = try syscall("setsockopt(\(level), \(name))") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    /// getsockname(2)
    public static func localAddress(_ fd: Int32) throws(IOError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        if rc != 0 { throw IOError(errno: Glibc.errno, call: "getsockname") }
        guard let address = withUnsafePointer(to: &storage, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0) } }) else {
            throw IOError(errno: EAFNOSUPPORT, call: "getsockname")
        }
        return address
    }

    /// close(2). EINTR on Linux still closes the fd, so it is not retried. EBADF traps (as in
    /// swift-nio): the descriptor was closed already, and its number may now belong to someone else,
    /// whose socket a second close would have shut.
    public static func close(_ fd: Int32) {
        precondition(fd >= 0, "closing an invalid descriptor")
        if Glibc.close(fd) != 0 {
            precondition(Glibc.errno != EBADF, "close(\(fd)): EBADF, a descriptor closed twice (a bug in the caller)")
        }
    }
}
