import CShims
import Glibc

/// An eventfd used to wake an event loop from another thread. Owned by its loop.
public struct EventFD: ~Copyable {
    /// The eventfd descriptor.
    public let fd: Int32

    public init() throws(IOError) {
        fd = try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) }
    }

    deinit { Socket.close(fd) }

    /// Adds 1 to the counter (wakes an epoll_wait); safe from any thread.
    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets the counter.
    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd, &value, 8)
    }
}
