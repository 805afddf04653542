import PosixIO

/// Something registered with an event loop for one or more descriptors.
///
/// The loop calls it on the loop's own thread only. `token` is the small number given at registration,
/// telling a handler with several descriptors (a session has two) which one is ready.
public protocol EventHandler: AnyObject {
    /// Readiness of the descriptor registered with `token`.
    func handleEvents(_ events: EpollEvents, token: UInt32)
}

/// A registration with an event loop: a slot index and a generation, packed into epoll's `data.u64`,
/// so an event for a reused descriptor number never reaches the slot's later owner.
public struct Registration: Hashable, Sendable {
    /// Index in the loop's slot table.
    let index: UInt32
    /// The slot's generation when this registration was made.
    let generation: UInt32

    /// The value stored in `epoll_event.data.u64`.
    var tag: UInt64 { UInt64(generation) << 32 | UInt64(index) }

    init(index: UInt32, generation: UInt32) {
        self.index = index
        self.generation = generation
    }

    init(tag: UInt64) {
        index = UInt32(truncatingIfNeeded: tag)
        generation = UInt32(truncatingIfNeeded: tag >> 32)
    }
}
