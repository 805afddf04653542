import Discovery
import Foundation
import Synchronization
import SwitchmanCore

/// Collects a watcher's events (from its delivery thread) for a test to wait on.
final class EventLog: Sendable {
    private let events = Mutex<[DiscoveryEvent]>([])

    /// The callback to hand to the watcher.
    var callback: @Sendable (DiscoveryEvent) -> Void {
        { [self] event in events.withLock { $0.append(event) } }
    }

    /// Everything received so far, in order.
    var all: [DiscoveryEvent] { events.withLock { $0 } }

    /// The last topology received.
    var lastTopology: Topology? {
        all.reversed().lazy.compactMap { event -> Topology? in
            if case .topology(let topology) = event { return topology }
            return nil
        }.first
    }

    /// Health changes received, in order.
    var healths: [DiscoveryHealth] {
        all.compactMap { event in
            if case .session(let health, _) = event { return health }
            return nil
        }
    }

    /// Waits (bounded) until `condition` holds for the events so far; returns whether it did.
    func waitUntil(timeout: Duration = .seconds(15), _ condition: ([DiscoveryEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(all) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(all)
    }

    /// Waits (bounded) until the last topology satisfies `condition`.
    func waitForTopology(timeout: Duration = .seconds(15), _ condition: @escaping (Topology) -> Bool) async -> Bool {
        await waitUntil(timeout: timeout) { _ in lastTopology.map(condition) ?? false }
    }
}
