/// User-space buffers for the read/write path of one event loop. A pump takes a buffer when bytes
/// arrive and gives it back as soon as they are written, so an idle session holds none.
/// Loop-confined; not thread-safe.
final class BufferPool {
    /// Bytes per buffer.
    let bufferSize: Int
    /// Buffers kept for reuse; more are freed on release.
    private(set) var keep: Int
    private var free: [UnsafeMutableRawPointer] = []
    /// Buffers handed out and not yet returned.
    private(set) var inUse = 0

    init(bufferSize: Int, keep: Int) {
        self.bufferSize = bufferSize
        self.keep = keep
    }

    deinit {
        for buffer in free { buffer.deallocate() }
    }

    func acquire() -> UnsafeMutableRawPointer {
        inUse += 1
        if let buffer = free.popLast() { return buffer }
        return UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    /// Keeps nothing from now on (the pool was replaced by a reload and serves only old sessions).
    func retire() {
        keep = 0
        for buffer in free { buffer.deallocate() }
        free = []
    }

    func release(_ buffer: UnsafeMutableRawPointer) {
        inUse -= 1
        if free.count < keep { free.append(buffer) } else { buffer.deallocate() }
    }
}
