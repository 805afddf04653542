/// Identifies a scheduled timer so it can be cancelled.
public struct TimerID: Hashable, Sendable {
    /// The callback's slot in the low 32 bits, the low 32 bits of the slot's generation at scheduling
    /// in the high 32 (an identifier is dropped once its timer has fired or been cancelled).
    let value: UInt64
}

/// A min-heap of deadlines with lazy cancellation: cancelling forgets the callback, and its heap entry
/// is dropped when it reaches the top. Owned by one event loop; not thread-safe.
///
/// Callbacks live in reusable slots, each with a generation that moves on whenever its timer fires or
/// is cancelled: a heap entry or a ``TimerID`` is live while its generation matches its slot's. That
/// makes every lookup an array index and a comparison. Sessions arm and cancel a few timers each, and
/// the loop asks for the next deadline on every pass: a dictionary keyed by timer would hash the key
/// for each of these, about 130 instructions a lookup. Generations are 64-bit, so a heap entry left
/// by a cancelled timer never matches a later timer of its slot, however often the slot is reused.
struct TimerQueue {
    private struct Entry {
        let deadline: UInt64
        let slot: UInt32
        let generation: UInt64
    }

    private struct Slot {
        var callback: (() -> Void)?
        var generation: UInt64 = 0
    }

    private var heap: [Entry] = []
    private var slots: [Slot] = []
    private var freeSlots: [UInt32] = []

    /// Timers scheduled and not yet fired or cancelled.
    private(set) var count = 0

    mutating func schedule(at deadline: UInt64, _ callback: @escaping () -> Void) -> TimerID {
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)].callback = callback
        } else {
            slot = UInt32(slots.count)
            slots.append(Slot(callback: callback))
        }
        count += 1
        let generation = slots[Int(slot)].generation
        heap.append(Entry(deadline: deadline, slot: slot, generation: generation))
        siftUp(heap.count - 1)
        return TimerID(value: generation << 32 | UInt64(slot))
    }

    mutating func cancel(_ timer: TimerID) {
        let slot = UInt32(truncatingIfNeeded: timer.value)
        guard Int(slot) < slots.count, UInt32(truncatingIfNeeded: slots[Int(slot)].generation) == UInt32(truncatingIfNeeded: timer.value >> 32),
              slots[Int(slot)].callback != nil
        else { return }  // fired or cancelled already
        _ = release(slot)
        // Keep the heap from filling with dead entries when timers are re-armed far more often than they fire.
        if heap.count > 64 && heap.count > 4 * count { compact() }
    }

    /// The earliest live deadline.
    mutating func nextDeadline() -> UInt64? {
        while let top = heap.first {
            if isLive(top) { return top.deadline }
            popTop()
        }
        return nil
    }

    /// Removes and returns the earliest callback due at `now`, one at a time, so a timer cancelled by
    /// an earlier callback of the same turn never runs.
    mutating func popNextDue(now: UInt64) -> (() -> Void)? {
        while let top = heap.first, top.deadline <= now {
            popTop()
            if isLive(top) { return release(top.slot) }
        }
        return nil
    }

    /// Removes and returns every callback due at `now`, earliest first (for tests).
    mutating func popDue(now: UInt64) -> [() -> Void] {
        var due: [() -> Void] = []
        while let callback = popNextDue(now: now) { due.append(callback) }
        return due
    }

    /// A released slot's generation has moved on, so an entry matching its slot's is a live timer.
    private func isLive(_ entry: Entry) -> Bool {
        slots[Int(entry.slot)].generation == entry.generation
    }

    /// Frees a live timer's slot for reuse and returns its callback.
    private mutating func release(_ slot: UInt32) -> (() -> Void)? {
        let callback = slots[Int(slot)].callback
        slots[Int(slot)].callback = nil
        slots[Int(slot)].generation &+= 1
        freeSlots.append(slot)
        count -= 1
        return callback
    }

    private mutating func compact() {
        let slots = self.slots  // not self: the closure runs while the heap is being modified
        heap.removeAll { slots[Int($0.slot)].generation != $0.generation }
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
