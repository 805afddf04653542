import PosixIO

/// Splice pipes for one event loop, bounded: at most `limit` pipes exist at once (in use or kept),
/// which bounds both the descriptors (two per pipe) and the kernel memory they pin. When none is left,
/// or the kernel will only give small pipes, pumps use the read/write path instead.
/// Loop-confined; not thread-safe.
final class PipePool {
    /// Capacity asked of each pipe.
    let pipeSize: Int
    /// Pipes that may exist at once.
    let limit: Int
    private var free: [Pipe] = []
    private(set) var inUse = 0
    /// Set once the kernel refuses a usable pipe; retried after `refusedUntil`.
    private var refusedUntil: UInt64 = 0
    /// Pipes denied because the pool was exhausted or the kernel refused one.
    private(set) var denials = 0
    /// Replaced by a reload: pipes coming back are closed, not kept.
    private var retired = false

    init(pipeSize: Int, limit: Int) {
        self.pipeSize = pipeSize
        self.limit = limit
    }

    deinit {
        for pipe in free { pipe.close() }
    }

    /// A pipe, or `nil` when the pool is exhausted or pipes are refused right now.
    func acquire(now: UInt64) -> Pipe? {
        if let pipe = free.popLast() {
            inUse += 1
            return pipe
        }
        guard inUse < limit, now >= refusedUntil else {
            denials += 1
            return nil
        }
        do {
            guard let pipe = try Pipe.make(size: pipeSize) else {
                refusedUntil = now + 5_000_000_000
                denials += 1
                return nil
            }
            inUse += 1
            return pipe
        } catch {
            // EMFILE/ENFILE: the read/write path needs no descriptor, so fall back quietly.
            refusedUntil = now + 1_000_000_000
            denials += 1
            return nil
        }
    }

    /// Keeps nothing from now on (the pool was replaced by a reload and serves only old sessions).
    func retire() {
        retired = true
        for pipe in free { pipe.close() }
        free = []
    }

    /// Returns an empty pipe. A pipe that still holds bytes (its session ended mid-transfer) is closed.
    func release(_ pipe: Pipe, empty: Bool) {
        inUse -= 1
        if empty && !retired && free.count + inUse < limit && free.count < 16 { free.append(pipe) } else { pipe.close() }
    }
}
