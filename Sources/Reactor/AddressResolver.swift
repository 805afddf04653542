import Glibc
import PosixIO
import Synchronization

/// Resolves host names on threads of its own and hands the answer back to the asking loop, so no
/// event loop ever blocks in getaddrinfo. Answers are cached per host for a bounded time by the
/// caller (see ProxyRuntime's address cache); this type only performs lookups.
///
/// - **Merged:** concurrent lookups of one name and port share one getaddrinfo call; every caller
///   gets the answer.
/// - **Bounded:** each caller gets an answer within `deadline`, a timeout error if the lookup takes
///   longer (the lookup itself goes on; its late answer is dropped for that caller).
/// - **Several threads**, so one slow name does not hold up the others.
public final class AddressResolver: Sendable {
    /// A lookup as getaddrinfo does it (tests give their own).
    public typealias Lookup = @Sendable (_ host: String, _ port: UInt16) -> Result<[SocketAddress], ResolutionError>
    /// What a caller is called back with.
    public typealias Completion = @Sendable (Result<[SocketAddress], ResolutionError>) -> Void

    private struct Key: Hashable {
        let host: String
        let port: UInt16
    }

    /// One caller waiting for a name: answered once, by the lookup or by its deadline.
    private final class Waiter: Sendable {
        let loop: EventLoop
        let completion: Completion
        private let answered = Atomic<Bool>(false)
        /// The deadline's timer; set and cancelled on `loop` only (its mailbox runs in order, so
        /// the timer is set before any answer is delivered).
        nonisolated(unsafe) var timer: TimerID?

        init(loop: EventLoop, completion: @escaping Completion) {
            self.loop = loop
            self.completion = completion
        }

        /// Delivers `result` on the caller's loop unless an answer was already delivered.
        func answer(_ result: Result<[SocketAddress], ResolutionError>) {
            guard !answered.exchange(true, ordering: .acquiringAndReleasing) else { return }
            loop.execute { [self] in
                if let timer { loop.cancel(timer) }
                timer = nil
                completion(result)
            }
        }
    }

    private struct State {
        /// Names waiting for a thread, in order.
        var queue: [Key] = []
        /// Callers per name queued or being looked up.
        var waiters: [Key: [Waiter]] = [:]
    }

    private let state = ConditionLock(State())
    private let lookup: Lookup
    private let deadline: Duration

    /// Starts `threads` resolver threads; `lookup` answers each name (getaddrinfo by default), and
    /// each caller gets an answer within `deadline`.
    public init(threads: Int = 2, deadline: Duration = .seconds(5), lookup: @escaping Lookup = NameResolution.resolve) {
        self.lookup = lookup
        self.deadline = deadline
        for index in 0..<max(1, threads) {
            DetachedThread.spawn(name: "switchman-dns\(index)") { [self] in self.work() }
        }
    }

    /// Looks up `host` and calls `completion` on `loop` with the result, within the deadline. Safe
    /// from any thread.
    public func resolve(host: String, port: UInt16, on loop: EventLoop, completion: @escaping Completion) {
        if let literal = SocketAddress(literal: host, port: port) {
            loop.execute { completion(.success([literal])) }
            return
        }
        let key = Key(host: host, port: port)
        let waiter = Waiter(loop: loop, completion: completion)
        let deadline = self.deadline
        let first = state.withLock { state -> Bool in
            if state.waiters[key] != nil {
                state.waiters[key]!.append(waiter)  // just checked
                return false
            }
            state.waiters[key] = [waiter]
            state.queue.append(key)
            return true
        }
        if first { state.wakeAll() }
        loop.execute {
            waiter.timer = loop.schedule(after: deadline) {
                waiter.timer = nil
                waiter.answer(.failure(ResolutionError(host: host, message: "no answer within \(deadline)")))
            }
        }
    }

    private func work() {
        while true {
            let key = state.wait(for: { !$0.queue.isEmpty }) { state, _ in state.queue.removeFirst() }
            let result = lookup(key.host, key.port)
            let waiters = state.withLock { $0.waiters.removeValue(forKey: key) ?? [] }
            for waiter in waiters { waiter.answer(result) }
        }
    }
}
