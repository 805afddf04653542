import CShims
import Glibc

/// A non-blocking pipe used as the kernel buffer of a splice pump. The pump that took it from the
/// pool owns it while bytes are in it; the pool owns it otherwise and closes it.
public struct Pipe: Sendable {
    /// Read end.
    public let readFD: Int32
    /// Write end.
    public let writeFD: Int32
    /// Capacity in bytes (F_GETPIPE_SZ after the resize attempt).
    public let capacity: Int

    /// A pipe of `size` bytes if the kernel allows it. Returns `nil` when the pipe would be smaller than
    /// `minimum` — past `fs.pipe-user-pages-soft` the kernel hands out one- or two-page pipes, which
    /// make splice slower than read/write.
    public static func make(size: Int, minimum: Int = 64 * 1024) throws(IOError) -> Pipe? {
        var fds: [Int32] = [-1, -1]
        _ = try syscall("pipe2") { switchman_pipe2(&fds, O_NONBLOCK | O_CLOEXEC) }
        _ = switchman_set_pipe_size(fds[1], Int32(size))
        let capacity = Int(switchman_get_pipe_size(fds[1]))
        if capacity < minimum {
            Socket.close(fds[0])
            Socket.close(fds[1])
            return nil
        }
        return Pipe(readFD: fds[0], writeFD: fds[1], capacity: capacity)
    }

    /// Closes both ends.
    public func close() {
        Socket.close(readFD)
        Socket.close(writeFD)
    }

    /// splice(2) from `source` into `destination` without copying through user space.
    @inline(__always)
    public static func splice(from source: Int32, to destination: Int32, count: Int, more: Bool = false) throws(IOError) -> IOResult<Int> {
        let flags = switchman_splice_flags(more ? 1 : 0)
        var moved = 0
        let result = try nonBlockingSyscall("splice") { () -> Int32 in
            var n: Int = 0
            let rc = switchman_splice(source, destination, count, flags, &n)
            moved = n
            return rc
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed: return .processed(moved)
        }
    }
}
