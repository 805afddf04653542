import Glibc
import PosixIO
import Testing
@testable import Reactor

struct ConditionLockTests {
    @Test func aWaitEndsAtItsDeadlineWhenTheStateNeverChanges() {
        let lock = ConditionLock(0)
        let start = SystemClock.monotonicNanoseconds()
        #expect(!lock.wait(timeout: .milliseconds(50)) { $0 == 1 })
        let waited = SystemClock.monotonicNanoseconds() - start
        #expect(waited >= 50_000_000 && waited < 5_000_000_000)
    }

    @Test func aChangeMadeBeforeTheWaitIsSeenAndOneMadeDuringItEndsIt() {
        let lock = ConditionLock(0)
        lock.withLock { $0 = 1 }
        lock.wakeAll()  // nobody waits yet: the wait below sees the state, not the wake-up
        #expect(lock.wait(timeout: .seconds(10)) { $0 == 1 })
        DetachedThread.spawn(name: "test-waker") {
            usleep(20_000)
            lock.withLock { $0 = 2 }
            lock.wakeAll()
        }
        let value = lock.wait(untilNanoseconds: SystemClock.monotonicNanoseconds() + 10_000_000_000, for: { $0 == 2 }) { state, ready in
            ready ? state : -1
        }
        #expect(value == 2)
    }
}
