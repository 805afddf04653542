import Glibc
import Reactor
import Synchronization

/// Where the one-line-per-session log goes. Loops append finished lines under a short lock; a thread
/// of its own writes them in batches every `flushInterval`, so thousands of sessions a second cost
/// the loops no blocking write.
public final class SessionLog: Sendable {
    /// The line format.
    public enum Format: Sendable {
        /// `key=value` words, like HAProxy's tcplog.
        case text
        /// One JSON object per line.
        case json
    }

    /// The line format.
    public let format: Format
    private let fd: Int32
    private let pending = Mutex<[UInt8]>([])
    private let dropped = Atomic<Int>(0)
    private let maxPending: Int

    /// Writes to `fd` (stdout by default), flushing every `flushInterval`. Lines beyond `maxPending`
    /// bytes waiting are dropped and counted rather than block a loop.
    public init(fd: Int32 = 1, format: Format = .text, flushInterval: Duration = .milliseconds(100), maxPending: Int = 8 << 20) {
        self.fd = fd
        self.format = format
        self.maxPending = maxPending
        let nanos = flushInterval.components.attoseconds / 1_000_000_000 + flushInterval.components.seconds * 1_000_000_000
        Thread.spawn(name: "switchman-log") { [self] in
            while true {
                var ts = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
                nanosleep(&ts, nil)
                self.flush()
            }
        }
    }

    /// Lines dropped because the writer fell behind.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Queues one line (a newline is added).
    public func append(_ line: String) {
        let accepted = pending.withLock { buffer -> Bool in
            if buffer.count > maxPending { return false }
            buffer.append(contentsOf: line.utf8)
            buffer.append(10)
            return true
        }
        if !accepted { dropped.add(1, ordering: .relaxed) }
    }

    /// Writes everything queued now (also called at shutdown).
    public func flush() {
        let batch = pending.withLock { buffer -> [UInt8] in
            let taken = buffer
            buffer.removeAll(keepingCapacity: true)
            return taken
        }
        var offset = 0
        while offset < batch.count {
            let n = batch.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, batch.count - offset) }
            if n <= 0 {
                if n < 0 && errno == EINTR { continue }
                break
            }
            offset += n
        }
    }
}
