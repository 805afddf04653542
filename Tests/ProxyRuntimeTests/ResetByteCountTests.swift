import Glibc
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// Byte counters when a reset ends a session: what reached the client before the error counts.
    @Suite(.serialized)
    struct ResetByteCountTests {
        @Test
        func bytesAServerSentJustBeforeItsResetAreCountedOnceTheyReachTheClient() throws {
            let opening = Array("first line\n".utf8)
            let last = patternBytes(3000, seed: 11)
            let go = Atomic<Bool>(false)
            let reset = Atomic<Bool>(false)
            let server = try TestServer { fd in
                guard (try? TestSocket.readExactly(fd, opening.count)) == opening, (try? TestSocket.writeAll(fd, opening)) != nil,
                      eventually(seconds: 20, { go.load(ordering: .acquiring) }) else { return }
                // The last bytes, then a reset (linger 0): both reach the proxy while its loops are held.
                try? TestSocket.writeAll(fd, last)
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                reset.store(true, ordering: .releasing)  // TestServer closes fd right after: the reset
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: .off, listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, opening)
            #expect(try TestSocket.readExactly(client, opening.count) == opening)

            // Hold every loop, so the proxy sees the bytes and the reset in one wake-up, and one transfer
            // writes the bytes and then meets the error.
            let held = Atomic<Int>(0)
            let release = Atomic<Bool>(false)
            for worker in proxy.runtime.workers {
                worker.loop.execute {
                    held.add(1, ordering: .acquiringAndReleasing)
                    _ = eventually(seconds: 20) { release.load(ordering: .acquiring) }
                }
            }
            try #require(eventually { held.load(ordering: .acquiring) == proxy.runtime.workers.count })
            go.store(true, ordering: .releasing)
            #expect(eventually { reset.load(ordering: .acquiring) })
            usleep(100_000)  // the close that sends the reset follows the handler at once
            release.store(true, ordering: .releasing)

            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                received += chunk[0..<n]
            }
            let intact = received == last
            #expect(intact, "the client received \(received.count) of \(last.count) bytes")
            let total = UInt64(opening.count + last.count)
            #expect(eventually { proxy.statistics().listeners["raw"]?.counters.bytesOut == total },
                    "bytes counted to the client: \(proxy.statistics().listeners["raw"]?.counters.bytesOut ?? 0) of \(total)")
        }
    }
}
