import CShims
import Glibc

/// Epoll event bits, named; the C name is in each doc comment.
public struct EpollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// EPOLLIN
    public static let readable = EpollEvents(rawValue: EPOLLIN.rawValue)
    /// EPOLLOUT
    public static let writable = EpollEvents(rawValue: EPOLLOUT.rawValue)
    /// EPOLLRDHUP: the peer shut down its writing half.
    public static let readHangup = EpollEvents(rawValue: EPOLLRDHUP.rawValue)
    /// EPOLLHUP
    public static let hangup = EpollEvents(rawValue: EPOLLHUP.rawValue)
    /// EPOLLERR
    public static let error = EpollEvents(rawValue: EPOLLERR.rawValue)
    /// EPOLLET: report changes only; the reader keeps its own readiness latches.
    public static let edgeTriggered = EpollEvents(rawValue: EPOLLET.rawValue)
}

/// An epoll instance. Owned by its event loop, which closes it.
public struct Epoll: ~Copyable {
    /// The epoll descriptor.
    public let fd: Int32

    public init() throws(IOError) {
        fd = try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    deinit { Socket.close(fd) }

    /// EPOLL_CTL_ADD with `data.u64 = tag`.
    public func add(_ target: Int32, events: EpollEvents, tag: UInt64) throws(IOError) {
        try control(EPOLL_CTL_ADD, target, events, tag)
    }

    /// EPOLL_CTL_MOD
    public func modify(_ target: Int32, events: EpollEvents, tag: UInt64) throws(IOError) {
        try control(EPOLL_CTL_MOD, target, events, tag)
    }

    /// EPOLL_CTL_DEL; a descriptor that is not registered is not an error.
    public func remove(_ target: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, target, &event)
    }

    private func control(_ op: Int32, _ target: Int32, _ events: EpollEvents, _ tag: UInt64) throws(IOError) {
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = tag
        _ = try syscall("epoll_ctl") { epoll_ctl(fd, op, target, &event) }
    }

    /// epoll_wait into `buffer`; returns the number of events (0 on timeout or EINTR).
    public func wait(into buffer: UnsafeMutableBufferPointer<epoll_event>, timeoutMilliseconds: Int32) throws(IOError) -> Int {
        let n = epoll_wait(fd, buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        if n >= 0 { return Int(n) }
        if Glibc.errno == EINTR { return 0 }
        throw IOError(errno: Glibc.errno, call: "epoll_wait")
    }
}
