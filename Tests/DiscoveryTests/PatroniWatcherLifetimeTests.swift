@testable import Discovery
import Foundation
import Logging
import SwitchmanCore
import Testing

/// What a stopped watcher leaves behind (found by LeakSanitizer under `swift test --sanitize=address`).
struct PatroniWatcherLifetimeTests {
    @Test("a stopped and dropped watcher frees its state and thread")
    func stoppedWatcherIsFreed() throws {
        weak var core: WatcherCore?
        do {
            // Nothing listens on the port: the watcher keeps trying to connect until stopped.
            let configuration = ClusterConfiguration.test(port: try freeLoopbackPort(), scope: "lifetime", sessionTimeout: .seconds(4))
            let watcher = PatroniWatcher(
                configuration: configuration, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                onEvent: { _ in })
            watcher.start()
            watcher.stop()
            core = watcher.core
        }
        // The delivery thread lets go of its closure just after stop() returns: wait for it, bounded.
        let deadline = ContinuousClock.now + .seconds(5)
        while core != nil && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(core == nil, "the watcher's core outlived it")
    }
}
