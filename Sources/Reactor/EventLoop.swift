import CShims
import Glibc
import PosixIO
import Synchronization

/// One epoll loop, run by one thread. Everything registered with it — descriptors, timers, the
/// sessions behind them — belongs to that thread; other threads reach it only through ``execute(_:)``.
public final class EventLoop: @unchecked Sendable {
    // @unchecked: all stored state except `mailbox`, `wakeups`, `heartbeat` and `running` is touched
    // only on the loop's own thread, which the methods below document and `assertInLoop` checks.

    /// Position of this loop in its group (0-based); also used in logs.
    public let index: Int

    private let epoll: Epoll
    private let wakeup: EventFD
    private let mailbox = Mutex<[@Sendable () -> Void]>([])
    private let wakeupPending = Atomic<Bool>(false)
    private let heartbeatNanos = Atomic<UInt64>(0)
    private let stopRequested = Atomic<Bool>(false)
    /// The thread running the loop (`pthread_self()`), 0 while it does not run. Atomic: read by
    /// ``inLoop`` from any thread.
    private let runningThread = Atomic<UInt>(0)

    private struct Slot {
        var handler: EventHandler?
        var token: UInt32
        var generation: UInt32
    }

    private var slots: [Slot] = []
    private var freeSlots: [UInt32] = []
    private var timers = TimerQueue()
    private var deferred: [() -> Void] = []
    private static let mailboxTag = UInt64.max

    /// CLOCK_MONOTONIC nanoseconds, refreshed after every epoll_wait: cheap "now" for timeouts.
    public private(set) var now: UInt64

    public init(index: Int) throws(IOError) {
        self.index = index
        epoll = try Epoll()
        wakeup = try EventFD()
        now = SystemClock.monotonicNanoseconds()
        try epoll.add(wakeup.fd, events: [.readable, .edgeTriggered], tag: Self.mailboxTag)
    }

    // MARK: - Descriptors

    /// Registers `fd` for `events`; the handler is called with `token` when it is ready. Loop thread only.
    public func register(_ fd: Int32, events: EpollEvents, handler: EventHandler, token: UInt32 = 0) throws(IOError) -> Registration {
        assertInLoop()
        let index: UInt32
        if let free = freeSlots.popLast() {
            index = free
            slots[Int(index)].handler = handler
            slots[Int(index)].token = token
        } else {
            index = UInt32(slots.count)
            slots.append(Slot(handler: handler, token: token, generation: 1))
        }
        let registration = Registration(index: index, generation: slots[Int(index)].generation)
        do {
            try epoll.add(fd, events: events, tag: registration.tag)
        } catch {
            release(registration)
            throw error
        }
        return registration
    }

    /// Changes the events of a registered descriptor. Loop thread only.
    public func modify(_ fd: Int32, _ registration: Registration, events: EpollEvents) throws(IOError) {
        assertInLoop()
        try epoll.modify(fd, events: events, tag: registration.tag)
    }

    /// Removes `fd` from epoll and frees the slot, so no later event reaches the handler. The caller
    /// still owns `fd` and closes it afterwards. Harmless for an already-removed registration.
    public func deregister(_ fd: Int32, _ registration: Registration) {
        assertInLoop()
        guard isCurrent(registration) else { return }
        epoll.remove(fd)
        release(registration)
    }

    /// Frees the slot of a descriptor that someone else already closed (the kernel dropped it from
    /// epoll on close). Never call epoll_ctl for it: its number may belong to a new descriptor now.
    public func forget(_ registration: Registration) {
        assertInLoop()
        guard isCurrent(registration) else { return }
        release(registration)
    }

    private func isCurrent(_ registration: Registration) -> Bool {
        Int(registration.index) < slots.count && slots[Int(registration.index)].generation == registration.generation
            && slots[Int(registration.index)].handler != nil
    }

    private func release(_ registration: Registration) {
        let i = Int(registration.index)
        slots[i].handler = nil
        slots[i].generation &+= 1
        if slots[i].generation == 0 { slots[i].generation = 1 }
        freeSlots.append(registration.index)
    }

    /// Descriptors registered now (for tests and stats).
    public var registrationCount: Int { slots.count - freeSlots.count }

    // MARK: - Timers

    /// Calls `callback` on this loop once `delay` has passed. Loop thread only.
    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping () -> Void) -> TimerID {
        assertInLoop()
        return timers.schedule(at: now &+ delay.nanoseconds, callback)
    }

    /// Calls `callback` at a monotonic deadline (nanoseconds). Loop thread only.
    @discardableResult
    public func schedule(atNanoseconds deadline: UInt64, _ callback: @escaping () -> Void) -> TimerID {
        assertInLoop()
        return timers.schedule(at: deadline, callback)
    }

    /// Forgets a timer; harmless if it has fired already. Loop thread only.
    public func cancel(_ timer: TimerID) {
        assertInLoop()
        timers.cancel(timer)
    }

    /// Runs `work` on this loop after the current batch of events, before the next epoll_wait.
    /// Loop thread only; used to yield in the middle of a long transfer without losing readiness.
    public func executeSoon(_ work: @escaping () -> Void) {
        assertInLoop()
        deferred.append(work)
    }

    // MARK: - Cross-thread

    /// Runs `task` on the loop's thread. Safe from any thread; wakes the loop at most once per batch.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        mailbox.withLock { $0.append(task) }
        if !wakeupPending.exchange(true, ordering: .acquiringAndReleasing) { wakeup.signal() }
    }

    /// Monotonic time of the loop's last turn; a stale value means the loop is stuck (for /health).
    public var lastHeartbeatNanoseconds: UInt64 { heartbeatNanos.load(ordering: .relaxed) }

    /// Whether the caller runs on this loop's thread.
    public var inLoop: Bool {
        let thread = runningThread.load(ordering: .relaxed)
        return thread != 0 && pthread_equal(thread, pthread_self()) != 0
    }

    /// Traps (debug builds only, as swift-nio's `assertInEventLoop`) when a loop-confined method is
    /// called from another thread while the loop runs. Before ``run()`` starts, the thread that
    /// builds the loop's state may call them.
    @inline(__always)
    public func assertInLoop(_ function: StaticString = #function, file: StaticString = #fileID, line: UInt = #line) {
        assert(runningThread.load(ordering: .relaxed) == 0 || inLoop,
               "\(function) called off event loop \(index)'s thread", file: file, line: line)
    }

    /// Asks the loop to return from ``run()`` after its current turn. Safe from any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wakeup.signal()
    }

    // MARK: - Running

    /// Runs the loop on the calling thread until ``stop()``.
    public func run() {
        runningThread.store(pthread_self(), ordering: .relaxed)
        let capacity = 256
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopRequested.load(ordering: .acquiring) {
            heartbeatNanos.store(now, ordering: .relaxed)
            var timeout: Int32 = -1
            if !deferred.isEmpty {
                timeout = 0
            } else if let deadline = timers.nextDeadline() {
                let current = SystemClock.monotonicNanoseconds()
                // Round up so a timer never fires early and spins the loop for a sub-millisecond wait.
                timeout = deadline <= current ? 0 : Int32(min((deadline - current + 999_999) / 1_000_000, 60_000))
            } else {
                timeout = 1000  // keep the heartbeat fresh for /health even when idle
            }
            if timeout < 0 || timeout > 1000 { timeout = 1000 }
            let n: Int
            do {
                n = try epoll.wait(into: events, timeoutMilliseconds: timeout)
            } catch {
                fatalError("event loop \(index): \(error)")
            }
            now = SystemClock.monotonicNanoseconds()
            for i in 0..<n {
                let event = events[i]
                if event.data.u64 == Self.mailboxTag {
                    runMailbox()
                    continue
                }
                let registration = Registration(tag: event.data.u64)
                guard isCurrent(registration), let handler = slots[Int(registration.index)].handler else { continue }
                handler.handleEvents(EpollEvents(rawValue: event.events), token: slots[Int(registration.index)].token)
            }
            runDeferred()
            // Bounded by the timers that exist now: a callback that re-arms itself for "now" cannot
            // keep this pass from returning to epoll.
            var budget = timers.count
            while budget > 0, let callback = timers.popNextDue(now: now) {
                budget -= 1
                callback()
            }
        }
        runningThread.store(0, ordering: .relaxed)
        releaseLeftovers()
    }

    /// A stopped loop lets go of the timers, deferred work and handlers it still held: they would never
    /// run, and they often hold the loop itself (a pending probe's timeout closure holds the probe,
    /// which holds the loop), a cycle nothing else would break.
    private func releaseLeftovers() {
        // Taken out first and released last: a handler's deinit may call back into the loop (cancel
        // its timer, deregister), which must not meet the loop's state in the middle of a mutation.
        let leftovers = (timers: timers, deferred: deferred, handlers: slots.map(\.handler))
        timers = TimerQueue()
        deferred = []
        for i in slots.indices { slots[i].handler = nil }
        withExtendedLifetime(leftovers) {}
    }

    private func runMailbox() {
        wakeup.drain()
        wakeupPending.store(false, ordering: .releasing)
        let tasks = mailbox.withLock { pending -> [@Sendable () -> Void] in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        for task in tasks { task() }
    }

    private func runDeferred() {
        while !deferred.isEmpty {
            let batch = deferred
            deferred.removeAll(keepingCapacity: true)
            for work in batch { work() }
            // Work deferred by deferred work waits for the next turn, so epoll is polled in between.
            if !deferred.isEmpty { break }
        }
    }
}
