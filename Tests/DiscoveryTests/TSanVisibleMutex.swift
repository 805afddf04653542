#if SWITCHMAN_TSAN_LOCKS
import Reactor

/// ThreadSanitizer builds only (scripts/sanitize.sh defines SWITCHMAN_TSAN_LOCKS): `Mutex` here
/// is the pthread-based ConditionLock, which TSan understands. Synchronization.Mutex takes its
/// contended path inside the uninstrumented standard library (a futex), so TSan sees no
/// happens-before between two holders and reports every contended critical section as a race.
/// This module's own declaration shadows the imported one; other builds use Synchronization.Mutex.
typealias Mutex<State> = ConditionLock<State>
#endif
