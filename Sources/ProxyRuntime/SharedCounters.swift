import Synchronization
import SwitchmanCore

/// Limits and counts that span every event loop: sessions in total, per listener, per server, and
/// sessions held during a failover. Atomics only; read and written from any loop thread.
final class SharedCounters: Sendable {
    /// Sessions open now, all listeners.
    let sessions = Atomic<Int>(0)
    /// `maxconn` (changes on reload).
    let maxconn: Atomic<Int>
    /// Sessions held now (primary port waiting for a leader), all loops.
    let held = Atomic<Int>(0)
    /// Loops that paused a listener because a limit was reached; a freed slot wakes them.
    let pausedListeners = Atomic<Int>(0)
    private let listeners = Mutex<[String: ListenerShared]>([:])
    private let servers = Mutex<[ServerKey: ServerShared]>([:])

    init(maxconn: Int) {
        self.maxconn = Atomic(maxconn)
    }

    /// Takes a global session slot, or returns false at `maxconn`.
    func acquireSession() -> Bool {
        acquireSlot(sessions, limit: maxconn.load(ordering: .relaxed))
    }

    func releaseSession() { sessions.subtract(1, ordering: .acquiringAndReleasing) }

    /// The counters of a listener, created on first use (the lock is taken only then: callers keep the reference).
    func listener(_ name: String) -> ListenerShared {
        listeners.withLock { table in
            if let existing = table[name] { return existing }
            let fresh = ListenerShared()
            table[name] = fresh
            return fresh
        }
    }

    /// The counters of a server, created on first use.
    func server(_ key: ServerKey) -> ServerShared {
        servers.withLock { table in
            if let existing = table[key] { return existing }
            let fresh = ServerShared()
            table[key] = fresh
            return fresh
        }
    }

    /// Current sessions per server key (for leastconn and stats).
    func serverSessions() -> [ServerKey: Int] {
        servers.withLock { table in table.mapValues { $0.current.load(ordering: .relaxed) } }
    }
}

/// Cross-loop counts of one listener.
final class ListenerShared: Sendable {
    /// Sessions open now on this listener.
    let current = Atomic<Int>(0)
    /// Sessions queued for a busy server, all loops.
    let queued = Atomic<Int>(0)

    /// Takes a listener slot, or returns false at `limit` (`nil`: no limit).
    func acquire(limit: Int?) -> Bool {
        acquireSlot(current, limit: limit)
    }

    func release() { current.subtract(1, ordering: .acquiringAndReleasing) }
}

/// Cross-loop counts of one server.
final class ServerShared: Sendable {
    /// Sessions connected or connecting to this server now.
    let current = Atomic<Int>(0)

    /// Takes a server slot, or returns false at `limit` (`nil`: no limit).
    func tryAcquire(limit: Int?) -> Bool {
        acquireSlot(current, limit: limit)
    }

    func release() { current.subtract(1, ordering: .acquiringAndReleasing) }
}

/// Adds one to `counter` unless it already reached `limit` (`nil`: no limit); true when it did.
/// A compare-and-swap loop, so concurrent loops never push a count past its limit.
private func acquireSlot(_ counter: borrowing Atomic<Int>, limit: Int?) -> Bool {
    guard let limit else {
        counter.add(1, ordering: .relaxed)
        return true
    }
    var value = counter.load(ordering: .relaxed)
    while value < limit {
        let (exchanged, original) = counter.compareExchange(expected: value, desired: value + 1, ordering: .acquiringAndReleasing)
        if exchanged { return true }
        value = original
    }
    return false
}
