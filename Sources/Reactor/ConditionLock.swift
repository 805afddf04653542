import Glibc
import PosixIO

/// State behind a lock that a thread can wait on until it changes: the one waiting primitive of the
/// project (plain locking is `Synchronization.Mutex`; a thread that must sleep until another one has
/// done something uses this). A pthread mutex and a condition variable on CLOCK_MONOTONIC.
///
/// Every wait is for a predicate on the state, checked under the lock, so neither a wake-up that
/// comes before the wait nor a spurious one can be lost or mistaken. Whoever changes what a waiter
/// waits for calls ``wakeAll()`` after ``withLock(_:)`` returns.
public final class ConditionLock<State>: @unchecked Sendable {
    // @unchecked: `state` is read and written only between pthread_mutex_lock and _unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var state: State

    /// A lock around `initial`.
    public init(_ initial: State) {
        state = initial
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Deadlines are monotonic: a wall-clock step must not shorten or stretch a wait.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the state, under the lock. Wakes no one.
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }

    /// Wakes every thread waiting in ``wait(untilNanoseconds:for:_:)`` so it checks its predicate again.
    /// Cheap when nobody waits (no system call).
    public func wakeAll() {
        pthread_cond_broadcast(condition)
    }

    /// Waits until `isReady(state)` holds or the monotonic clock (``SystemClock/monotonicNanoseconds()``)
    /// reaches `deadline` (`nil`: no deadline), then runs `body` under the lock with whether the state
    /// was ready. The lock is released while waiting.
    public func wait<R>(untilNanoseconds deadline: UInt64? = nil, for isReady: (borrowing State) -> Bool,
                        _ body: (inout State, _ ready: Bool) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !isReady(state) {
            if let deadline {
                if SystemClock.monotonicNanoseconds() >= deadline { return try body(&state, false) }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                _ = pthread_cond_timedwait(condition, mutex, &ts)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
        return try body(&state, true)
    }

    /// Waits up to `timeout` for `isReady(state)`; returns whether it held.
    public func wait(timeout: Duration, for isReady: (borrowing State) -> Bool) -> Bool {
        wait(untilNanoseconds: SystemClock.monotonicNanoseconds() + timeout.nanoseconds, for: isReady) { _, ready in ready }
    }
}
