import Glibc
import PosixIO
import SwitchmanCore
import Synchronization
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// Last bytes and the FIN that follows them: a peer that sends both in one segment gets them
    /// forwarded in one segment (a connection per request then costs the loopback one segment less
    /// each way). Counted with TCP_INFO's segments received on the far socket, against the same
    /// exchange without the proxy; loopback loses and reorders nothing, so the counts are exact.
    /// Each exchange starts with an echoed line, so the last bytes are not the session's first
    /// (those the start-up relay carries, see Session+Startup) but the pumps'.
    @Suite(.serialized)
    struct HalfCloseSegmentTests {
        @Test(arguments: [SpliceMode.off, .auto])
        func aClientsLastBytesAndHalfCloseReachTheServerInTheOneSegmentTheyCameIn(splice: SpliceMode) throws {
            let opening = Array("first line\n".utf8)
            let message = Array("Terminate, then FIN".utf8)
            let received = Mutex<[(bytes: [UInt8], segments: UInt32)]>([])
            let server = try TestServer { fd in
                guard let first = try? TestSocket.readExactly(fd, opening.count), (try? TestSocket.writeAll(fd, first)) != nil,
                      let bytes = try? TestSocket.readToEnd(fd) else { return }
                let segments = SegmentCount.received(fd)
                received.withLock { $0.append((bytes, segments)) }
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }

            for port in [server.port, proxy.port("raw")] {
                let client = try TestSocket.connect(port: port)
                defer { close(client) }
                try TestSocket.writeAll(client, opening)
                #expect(try TestSocket.readExactly(client, opening.count) == opening)
                try SegmentCount.sendWithFIN(client, message)
                _ = TestSocket.waitForClose(client)
            }
            #expect(eventually { received.withLock { $0.count } == 2 })
            let (direct, proxied) = try received.withLock { all throws -> ((bytes: [UInt8], segments: UInt32), (bytes: [UInt8], segments: UInt32)) in
                try #require(all.count == 2)
                return (all[0], all[1])
            }
            #expect(direct.bytes == message && proxied.bytes == message)
            #expect(proxied.segments == direct.segments, "segments the server received: direct \(direct.segments), through the proxy \(proxied.segments)")
        }

        @Test(arguments: [SpliceMode.off, .auto])
        func aServersLastBytesAndHalfCloseReachTheClientInTheOneSegmentTheyCameIn(splice: SpliceMode) throws {
            let opening = Array("GET / HTTP/1.1\r\n\r\n".utf8)
            let message = Array("HTTP/1.1 200 OK, Connection: close".utf8)
            let server = try TestServer { fd in
                guard (try? TestSocket.readExactly(fd, opening.count)) == opening else { return }
                try? SegmentCount.sendWithFIN(fd, message)
                _ = TestSocket.waitForClose(fd)
            }
            defer { server.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(splice: splice, listeners: [staticListener(servers: [server.port])]))
            defer { proxy.stop() }

            var counts: [UInt32] = []
            for port in [server.port, proxy.port("raw")] {
                let client = try TestSocket.connect(port: port)
                defer { close(client) }
                try TestSocket.writeAll(client, opening)
                #expect(try TestSocket.readToEnd(client) == message)
                counts.append(SegmentCount.received(client))
            }
            #expect(counts[1] == counts[0], "segments the client received: direct \(counts[0]), through the proxy \(counts[1])")
        }
    }
}

/// Segments a socket received, and a send whose bytes and FIN leave in one segment.
private enum SegmentCount {
    /// `tcpi_segs_in` of TCP_INFO (linux/tcp.h: byte offset 140, an ABI Linux only appends to).
    static func received(_ fd: Int32) -> UInt32 {
        var info = [UInt8](repeating: 0, count: 232)
        var length = socklen_t(info.count)
        let rc = info.withUnsafeMutableBytes { getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, $0.baseAddress, &length) }
        guard rc == 0, length >= 144 else { return 0 }
        return info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 140, as: UInt32.self) }
    }

    /// send with MSG_MORE, then shutdown(SHUT_WR): one segment carries both.
    static func sendWithFIN(_ fd: Int32, _ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_MORE) | Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw IOError(errno: errno, call: "send") }
        shutdown(fd, Int32(SHUT_WR))
    }
}
