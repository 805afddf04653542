import Reactor

/// Where the one-line-per-session log goes. Loops append finished lines to a bounded buffer; the
/// log thread of a ``LogWriter`` writes them in batches every `flushInterval`, so thousands of
/// sessions a second cost the loops no write, and a stalled reader of the log costs them nothing
/// but dropped (and counted) lines.
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
    private let writer: LogWriter

    /// Writes to `fd` (stdout by default), in batches every `flushInterval`. Lines beyond
    /// `maxPending` bytes waiting are dropped and counted rather than block a loop.
    public init(fd: Int32 = 1, format: Format = .text, flushInterval: Duration = .milliseconds(100), maxPending: Int = 8 << 20) {
        self.format = format
        writer = LogWriter(fd: fd, threadName: "switchman-slog", maxPending: maxPending, batchDelay: flushInterval)
    }

    /// Lines dropped because the writer fell behind (or the descriptor failed).
    public var droppedLines: Int { writer.droppedLines }

    /// Queues one line (a newline is added). Never blocks on I/O.
    public func append(_ line: String) {
        writer.append(line)
    }

    /// Asks the log thread to write what is queued now; returns at once (safe on a loop).
    public func requestFlush() {
        writer.requestFlush()
    }

    /// Waits up to `timeout` until the log thread has written every line queued before the call
    /// (at shutdown). The log thread does the writing: no other thread ever writes the log.
    /// Returns `false` if the reader is stalled. Not on an event loop.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) -> Bool {
        writer.flush(timeout: timeout)
    }
}
