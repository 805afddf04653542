import CShims

/// Read-only questions about descriptors.
public enum PosixIOQuery {
    /// FIONREAD: bytes waiting to be read (0 on error).
    public static func bytesReadable(_ fd: Int32) -> Int {
        var count: Int32 = 0
        return switchman_bytes_readable(fd, &count) == 0 ? Int(count) : 0
    }
}
