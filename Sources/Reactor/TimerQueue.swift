/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    let value: UInt64
}

/// A min-heap of deadlines with lazy cancellation: cancelling forgets the callback, and its heap entry
/// is dropped when it reaches the top. Owned by one event loop; not thread-safe.
struct TimerQueue {
    private struct Entry {
        let deadline: UInt64
        let id: UInt64
    }

    private var heap: [Entry] = []
    private var callbacks: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    /// Timers scheduled and not yet fired or cancelled.
    var count: Int { callbacks.count }

    mutating func schedule(at deadline: UInt64, _ callback: @escaping () -> Void) -> TimerID {
        let id = nextID
        nextID += 1
        callbacks[id] = callback
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        return TimerID(value: id)
    }

    mutating func cancel(_ timer: TimerID) {
        callbacks[timer.value] = nil
        // Keep the heap from filling with dead entries when timers are re-armed far more often than they fire.
        if heap.count > 64 && heap.count > 4 * callbacks.count { compact() }
    }

    /// The earliest live deadline.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if callbacks[top.id] != nil { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Removes and returns the earliest callback due at `now`, one at a time, so a timer cancelled by
    /// an earlier callback of the same turn never runs.
    mutating func popNextDue(now: UInt64) -> (() -> Void)? {
        while let top = heap.first, top.deadline <= now {
            popTop()
            if let callback = callbacks.removeValue(forKey: top.id) { return callback }
        }
        return nil
    }

    /// Removes and returns every callback due at `now`, earliest first (for tests).
    mutating func popDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let callback = popNextDue(now: now) { due.append(callback) }
        return due
    }

    private mutating func compact() {
        heap.removeAll { callbacks[$0.id] == nil }
        heap.sort { $0.deadline < $1.deadline }  // a sorted array is a valid heap
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[child].deadline >= heap[parent].deadline { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { break }
            var smallest = left
            if left + 1 < heap.count && heap[left + 1].deadline < heap[left].deadline { smallest = left + 1 }
            if heap[smallest].deadline >= heap[parent].deadline { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
