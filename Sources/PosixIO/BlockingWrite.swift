import Glibc

/// Writes on descriptors that a thread of its own may block on (the log writers' stdout and stderr),
/// never on an event loop's sockets.
public enum BlockingWrite {
    /// Writes all of `bytes` to `fd`, waiting while the reader is slow: retries EINTR and, on a
    /// descriptor someone made non-blocking, waits for POLLOUT. Returns how many bytes were written,
    /// fewer than `bytes.count` only when the descriptor failed (closed reader, EBADF, ENOSPC...):
    /// a log destination that went away is not a bug of ours, so nothing here traps.
    public static func all(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n > 0 {
                offset += n
                continue
            }
            let code = n < 0 ? Glibc.errno : EIO
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&poller, 1, 1000)
                continue
            }
            break
        }
        return offset
    }
}
