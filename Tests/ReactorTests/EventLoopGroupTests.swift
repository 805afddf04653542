import PosixIO
import Testing
@testable import Reactor

struct EventLoopGroupTests {
    @Test func waitUntilStoppedReturnsOnceEveryLoopThreadHasReturned() throws {
        let group = try EventLoopGroup(count: 2)
        group.start()
        // Running loops do not return on their own.
        #expect(!group.waitUntilStopped(timeout: .milliseconds(50)))
        group.stop()
        #expect(group.waitUntilStopped(timeout: .seconds(10)))
    }
}
