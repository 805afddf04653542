import PosixIO
import Synchronization

/// Hands log lines from any thread to a thread of its own that writes them to one descriptor, so a
/// slow or stalled reader of stdout/stderr (a full pipe, a paused terminal) never slows an event
/// loop: callers only append to a bounded buffer under a short lock. Lines that do not fit are
/// dropped and counted (``droppedLines``), never waited for.
///
/// Only the writer thread ever calls write(2) on the descriptor, so lines are never interleaved
/// and flushing is single-threaded by construction. The descriptor is the caller's; the writer does
/// not close it.
public final class LogWriter: Sendable {
    private struct State {
        /// Lines accepted and not yet taken by the writer thread.
        var pending: [UInt8] = []
        /// Bytes accepted since start, and bytes the writer is done with (written, or lost to an error).
        var accepted: UInt64 = 0
        var finished: UInt64 = 0
        /// Someone waits for a flush: skip the batching delay.
        var flushWanted = false
        var flushWaiters = 0
        var closing = false
        var closed = false
    }

    /// The descriptor written to.
    public let fd: Int32
    private let state: ConditionLock<State>
    private let dropped = Atomic<Int>(0)
    private let maxPending: Int
    private let batchDelay: UInt64

    /// Starts the writer thread for `fd`. At most `maxPending` bytes wait at once (one batch more
    /// may be in the middle of a write). With a `batchDelay`, the thread waits that long after the
    /// first line of a batch, so a busy log costs one write per delay rather than one per line.
    public init(fd: Int32, threadName: String = "switchman-log", maxPending: Int = 1 << 20, batchDelay: Duration = .zero) {
        self.fd = fd
        self.maxPending = maxPending
        self.batchDelay = batchDelay.nanoseconds
        state = ConditionLock(State())
        DetachedThread.spawn(name: threadName) { [self] in self.run() }
    }

    /// Lines dropped because the buffer was full (the reader fell behind), because the descriptor
    /// failed, or because they came after ``close(timeout:)``.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Queues one line; `newline` adds the terminating `\n` (pass `false` when `line` has it). Never
    /// blocks on I/O.
    public func append(_ line: String, newline: Bool = true) {
        let count = line.utf8.count + (newline ? 1 : 0)
        let outcome = state.withLock { state -> Bool? in
            guard !state.closing, state.pending.count + count <= maxPending else { return nil }
            let wasEmpty = state.pending.isEmpty
            state.pending.append(contentsOf: line.utf8)
            if newline { state.pending.append(10) }
            state.accepted &+= UInt64(count)
            return wasEmpty
        }
        switch outcome {
        case nil: dropped.add(1, ordering: .relaxed)
        // Only the first line of a batch wakes the writer; it waits for nothing else.
        case true?: state.wakeAll()
        case false?: break
        }
    }

    /// Asks the writer thread to write what is queued now, without waiting for it.
    public func requestFlush() {
        state.withLock { $0.flushWanted = true }
        state.wakeAll()
    }

    /// Waits until every line queued before the call has been written, for at most `timeout`.
    /// Returns `false` on timeout (the reader is stalled). Never call it from an event loop.
    @discardableResult
    public func flush(timeout: Duration) -> Bool {
        let deadline = SystemClock.monotonicNanoseconds() + timeout.nanoseconds
        let target = state.withLock { state -> UInt64 in
            state.flushWanted = true
            state.flushWaiters += 1
            return state.accepted
        }
        state.wakeAll()
        return state.wait(untilNanoseconds: deadline, for: { $0.finished >= target || $0.closed }) { state, ready in
            state.flushWaiters -= 1
            return ready && state.finished >= target
        }
    }

    /// Writes what is queued, stops the thread and drops later lines. Waits at most `timeout`;
    /// returns whether the thread finished.
    @discardableResult
    public func close(timeout: Duration) -> Bool {
        state.withLock { $0.closing = true }
        state.wakeAll()
        return state.wait(timeout: timeout) { $0.closed }
    }

    private func run() {
        var batch: [UInt8] = []
        while true {
            state.wait(for: { !$0.pending.isEmpty || $0.flushWanted || $0.closing }) { _, _ in }
            if batchDelay > 0 {
                let deadline = SystemClock.monotonicNanoseconds() + batchDelay
                state.wait(untilNanoseconds: deadline, for: { $0.flushWanted || $0.closing }) { _, _ in }
            }
            let closing = state.withLock { state -> Bool in
                swap(&batch, &state.pending)
                state.flushWanted = false
                return state.closing
            }
            let written = batch.withUnsafeBytes { BlockingWrite.all(fd, $0) }
            if written < batch.count {
                let lost = batch[written...].reduce(0) { $1 == 10 ? $0 + 1 : $0 }
                dropped.add(max(1, lost), ordering: .relaxed)
            }
            let count = UInt64(batch.count)
            batch.removeAll(keepingCapacity: true)
            let wake = state.withLock { state -> Bool in
                state.finished &+= count
                if closing && state.pending.isEmpty { state.closed = true }
                return state.flushWaiters > 0 || state.closed
            }
            if wake { state.wakeAll() }
            if closing && state.withLock({ $0.closed }) { return }
        }
    }
}
