import Glibc

/// A failed system call: the call's name and the `errno` it set.
///
/// Would-block and end-of-file are not errors: they come back as ``IOResult`` values.
public struct IOError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The `errno` value.
    public let errno: Int32
    /// The system call that failed, e.g. `"connect"`.
    public let call: String

    public init(errno: Int32, call: String) {
        self.errno = errno
        self.call = call
    }

    /// `strerror(errno)`
    public var message: String { String(cString: strerror(errno)) }

    public var description: String { "\(call): \(message) (errno \(errno))" }

    /// The connect failed in a way that another server (or a later attempt) may not share:
    /// refused, timed out, unreachable, reset.
    public var isConnectFailure: Bool {
        [ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ECONNRESET, ECONNABORTED, EADDRNOTAVAIL].contains(errno)
    }

    /// The process or the system is out of file descriptors.
    public var isDescriptorExhaustion: Bool { errno == EMFILE || errno == ENFILE }
}

/// The outcome of a non-blocking call that did not fail: it did something, or it would have blocked.
public enum IOResult<T> {
    /// The call did its work; for reads, `0` bytes means end of file.
    case processed(T)
    /// EAGAIN/EWOULDBLOCK: try again when epoll says so.
    case wouldBlock
}

extension IOResult: Sendable where T: Sendable {}
extension IOResult: Equatable where T: Equatable {}

/// Runs a system call returning `-1` on failure: retries EINTR, throws ``IOError`` otherwise.
/// EBADF and EFAULT are bugs of ours (a closed or foreign fd, a bad pointer) and stop the process.
@inline(__always)
func syscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(IOError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        precondition(code != EBADF && code != EFAULT, "\(name()): errno \(code) is a bug in the caller")
        throw IOError(errno: code, call: name())
    }
}

/// Like ``syscall(_:_:)`` but turns EAGAIN/EWOULDBLOCK into `.wouldBlock`.
@inline(__always)
func nonBlockingSyscall<T: FixedWidthInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(IOError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .processed(result) }
        let code = Glibc.errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        precondition(code != EBADF && code != EFAULT, "\(name()): errno \(code) is a bug in the caller")
        throw IOError(errno: code, call: name())
    }
}
