import Glibc
import PosixIO
import Synchronization
import Testing
@testable import Reactor

/// Runs a fresh loop on its own thread for the duration of `body`.
private func withRunningLoop(_ body: (EventLoop) throws -> Void) throws {
    let loop = try EventLoop(index: 0)
    let stopped = Atomic<Bool>(false)
    DetachedThread.spawn(name: "test-loop") {
        loop.run()
        stopped.store(true, ordering: .releasing)
    }
    defer {
        loop.stop()
        _ = waitUntil { stopped.load(ordering: .acquiring) }
    }
    try body(loop)
}

private func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = SystemClock.monotonicNanoseconds() + UInt64(seconds * 1e9)
    while SystemClock.monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// Records the events a test registration receives.
private final class Recorder: EventHandler, @unchecked Sendable {
    let seen = Mutex<[(EpollEvents, UInt32)]>([])
    func handleEvents(_ events: EpollEvents, token: UInt32) { seen.withLock { $0.append((events, token)) } }
}

struct EventLoopTests {
    @Test func tasksPostedFromOtherThreadsRunOnTheLoopInOrder() throws {
        try withRunningLoop { loop in
            let order = Mutex<[Int]>([])
            let onLoop = Atomic<Int>(0)
            for i in 0..<100 {
                loop.execute {
                    if loop.inLoop { onLoop.add(1, ordering: .relaxed) }
                    order.withLock { $0.append(i) }
                }
            }
            #expect(waitUntil { order.withLock { $0.count } == 100 })
            #expect(order.withLock { $0 } == Array(0..<100))
            #expect(onLoop.load(ordering: .relaxed) == 100)
        }
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        try withRunningLoop { loop in
            let fired = Mutex<[String]>([])
            loop.execute {
                loop.schedule(after: .milliseconds(60)) { fired.withLock { $0.append("c") } }
                loop.schedule(after: .milliseconds(20)) { fired.withLock { $0.append("a") } }
                let cancelled = loop.schedule(after: .milliseconds(30)) { fired.withLock { $0.append("x") } }
                loop.schedule(after: .milliseconds(40)) { fired.withLock { $0.append("b") } }
                loop.cancel(cancelled)
            }
            #expect(waitUntil { fired.withLock { $0.count } == 3 })
            usleep(50_000)
            #expect(fired.withLock { $0 } == ["a", "b", "c"])
        }
    }

    @Test func timerNeverFiresEarly() throws {
        try withRunningLoop { loop in
            let elapsed = Mutex<UInt64?>(nil)
            loop.execute {
                let start = SystemClock.monotonicNanoseconds()
                loop.schedule(after: .milliseconds(50)) { elapsed.withLock { $0 = SystemClock.monotonicNanoseconds() - start } }
            }
            #expect(waitUntil { elapsed.withLock { $0 } != nil })
            #expect(elapsed.withLock { $0! } >= 50_000_000)
        }
    }

    @Test func readinessReachesTheHandlerWithItsToken() throws {
        try withRunningLoop { loop in
            var fds: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            let recorder = Recorder()
            let reader = fds[0]
            loop.execute {
                _ = try? loop.register(reader, events: [.readable, .edgeTriggered], handler: recorder, token: 7)
            }
            usleep(20_000)
            var byte: UInt8 = 1
            #expect(write(fds[1], &byte, 1) == 1)
            #expect(waitUntil { recorder.seen.withLock { !$0.isEmpty } })
            let first = recorder.seen.withLock { $0[0] }
            #expect(first.0.contains(.readable))
            #expect(first.1 == 7)
        }
    }

    @Test func aDeregisteredSlotReusedByANewDescriptorNeverGetsTheOldHandlersEvents() throws {
        try withRunningLoop { loop in
            var a: [Int32] = [0, 0]
            var b: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &a) == 0)
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &b) == 0)
            defer { close(a[1]); close(b[0]); close(b[1]) }
            let old = Recorder()
            let new = Recorder()
            let done = Atomic<Bool>(false)
            let (a0, b0) = (a[0], b[0])
            loop.execute {
                // Same slot, next generation: the old registration's tag must no longer match.
                guard let first = try? loop.register(a0, events: [.readable], handler: old) else { return }
                loop.deregister(a0, first)
                close(a0)
                guard let second = try? loop.register(b0, events: [.readable], handler: new) else { return }
                #expect(second != first)
                done.store(true, ordering: .releasing)
            }
            #expect(waitUntil { done.load(ordering: .acquiring) })
            var byte: UInt8 = 1
            #expect(write(b[1], &byte, 1) == 1)
            #expect(waitUntil { new.seen.withLock { !$0.isEmpty } })
            #expect(old.seen.withLock { $0.isEmpty })
        }
    }

    @Test func heartbeatAdvancesWhileIdle() throws {
        try withRunningLoop { loop in
            usleep(30_000)
            let first = loop.lastHeartbeatNanoseconds
            loop.execute {}
            #expect(waitUntil { loop.lastHeartbeatNanoseconds > first })
        }
    }

    @Test func availableCPUsIsPositiveAndNoMoreThanOnline() {
        let cpus = EventLoopGroup.availableCPUs()
        #expect(cpus >= 1)
        #expect(cpus <= Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}

struct TimerQueueTests {
    @Test func popsDueCallbacksEarliestFirstAndSkipsCancelled() {
        var queue = TimerQueue()
        var log: [Int] = []
        let ids = (0..<200).map { i in queue.schedule(at: UInt64((i * 7919) % 1000)) { log.append(i) } }
        for (i, id) in ids.enumerated() where i % 3 == 0 { queue.cancel(id) }
        for callback in queue.popDue(now: 1000) { callback() }
        let expected = (0..<200).filter { $0 % 3 != 0 }.sorted { ($0 * 7919) % 1000 < ($1 * 7919) % 1000 }
        #expect(log.map { ($0 * 7919) % 1000 } == expected.map { ($0 * 7919) % 1000 })
        #expect(queue.count == 0)
        #expect(queue.nextDeadline() == nil)
    }

    @Test func anEndedTimersIdentifierCancelsNothingScheduledAfterIt() {
        var queue = TimerQueue()
        var ran: [String] = []
        let cancelled = queue.schedule(at: 10) { ran.append("cancelled") }
        queue.cancel(cancelled)
        let fired = queue.schedule(at: 20) { ran.append("fired") }  // takes the cancelled one's slot
        for callback in queue.popDue(now: 20) { callback() }
        let later = queue.schedule(at: 30) { ran.append("later") }  // and again, after it fired
        queue.cancel(cancelled)
        queue.cancel(fired)
        #expect(queue.count == 1)
        #expect(queue.nextDeadline() == 30)
        for callback in queue.popDue(now: 30) { callback() }
        #expect(ran == ["fired", "later"])
        queue.cancel(later)
        #expect(queue.count == 0)
    }

    @Test func manyCancelledTimersLeaveOnlyTheLiveDeadlines() {
        var queue = TimerQueue()
        var fired: [Int] = []
        for round in 0..<50 {
            // A session re-arming its timer: the old deadline is cancelled, a later one scheduled.
            let stale = (0..<10).map { i in queue.schedule(at: UInt64(1000 + round * 10 + i)) { fired.append(-1) } }
            for id in stale { queue.cancel(id) }
            _ = queue.schedule(at: UInt64(5000 + round)) { fired.append(round) }
        }
        #expect(queue.count == 50)
        #expect(queue.nextDeadline() == 5000)
        for callback in queue.popDue(now: 10_000) { callback() }
        #expect(fired == Array(0..<50))
        #expect(queue.nextDeadline() == nil)
    }
}

struct TimerCancellationTests {
    @Test func aTimerCancelledByAnEarlierCallbackOfTheSameTurnNeverRuns() {
        var queue = TimerQueue()
        var ran: [String] = []
        var second: TimerID?
        _ = queue.schedule(at: 10) {
            ran.append("first")
            if let second { queue.cancel(second) }
        }
        second = queue.schedule(at: 20) { ran.append("second") }
        while let callback = queue.popNextDue(now: 30) { callback() }
        #expect(ran == ["first"])
    }
}
