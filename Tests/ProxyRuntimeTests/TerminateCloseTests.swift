import Glibc
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

/// A plain PostgreSQL client's Terminate, then its end of file: the half-close toward the server is
/// put off so that the server, which closes on Terminate, sends the first FIN (the TIME_WAIT then
/// stays on its side; RealPostgresTests checks that with a real node).
extension SocketTests {
@Suite(.serialized)
struct TerminateCloseTests {
    /// What a fake node saw after it read a session's Terminate.
    struct AfterTerminate: Sendable {
        /// The node read the Terminate (not an end of file or a timeout before it).
        var gotTerminate = false
        /// End of file had already come 100 ms after the Terminate.
        var endOfFileAlready = false
        /// Bytes the node read after the Terminate until end of file (when it waited for it).
        var laterBytes: [UInt8]? = nil
    }

    /// Filled in by the fake node's thread.
    final class Seen: Sendable {
        let value = Mutex<AfterTerminate?>(nil)
        var afterTerminate: AfterTerminate? { value.withLock { $0 } }
    }

    /// A node that accepts the start-up, reads messages until a Terminate, looks whether end of file
    /// came right behind it, then closes (`waitsForEndOfFile` false) or reads to end of file first.
    private func node(waitsForEndOfFile: Bool, seen: Seen) throws -> FakePostgres {
        try FakePostgres { fd, _ in
            try? TestSocket.writeAll(fd, Wire.authentication(0) + Wire.readyForQuery)
            var gotTerminate = false
            while let message = try? Wire.readMessage(fd) {
                if message.raw == Wire.message("X", []) { gotTerminate = true; break }
            }
            usleep(100_000)
            var byte: UInt8 = 0
            var after = AfterTerminate(gotTerminate: gotTerminate, endOfFileAlready: recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) == 0)
            if waitsForEndOfFile { after.laterBytes = try? TestSocket.readToEnd(fd) }
            seen.value.withLock { $0 = after }
        }
    }

    /// A client through a static listener in front of ``node(waitsForEndOfFile:seen:)`` starts,
    /// sends Terminate and its end of file, and reads to the end (the node's close reaches it as end
    /// of file); returns what the node saw.
    private func terminateThroughTheProxy(nodeWaitsForEndOfFile: Bool) throws -> AfterTerminate? {
        let seen = Seen()
        let fake = try node(waitsForEndOfFile: nodeWaitsForEndOfFile, seen: seen)
        defer { fake.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [fake.port])]))
        defer { proxy.stop() }
        let client = try TestSocket.connect(port: proxy.port("raw"))
        defer { close(client) }
        try TestSocket.writeAll(client, Wire.startup())
        _ = try Wire.readStartupAnswer(client)
        try TestSocket.writeAll(client, Wire.message("X", []))
        shutdown(client, Int32(SHUT_WR))
        #expect(try TestSocket.readToEnd(client).isEmpty)
        #expect(eventually { seen.afterTerminate != nil })
        return seen.afterTerminate
    }

    @Test func aNodeThatClosesOnTerminateGetsNoHalfCloseBeforeItDoes() throws {
        let seen = try terminateThroughTheProxy(nodeWaitsForEndOfFile: false)
        #expect(seen?.gotTerminate == true)
        #expect(seen?.endOfFileAlready == false)
    }

    @Test func aNodeThatStaysOpenAfterTerminateStillGetsTheHalfClose() throws {
        // The node's readToEnd returned: end of file came (within its 10 s timeout), and nothing after the Terminate.
        let seen = try terminateThroughTheProxy(nodeWaitsForEndOfFile: true)
        #expect(seen?.gotTerminate == true)
        #expect(seen?.laterBytes == [])
    }
}
}
