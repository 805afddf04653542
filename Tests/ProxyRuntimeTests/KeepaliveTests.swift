import Glibc
import SwitchmanCore
import Testing
@testable import ProxyRuntime

extension SocketTests {
    /// `tcp_keepalive` on the proxy's two sockets of a session, read back with getsockopt from this
    /// process's descriptors (the proxy runs in it).
    @Suite(.serialized)
    struct KeepaliveTests {
        /// Starts an echo server and a proxy in front of it with `keepalive`, connects at once, sends
        /// a line and reads it back, then runs `body` with the live session.
        private func withLiveSession(
            keepalive: TCPKeepalive?, _ body: (_ proxy: ProxyHarness, _ echoPort: UInt16, _ client: Int32) throws -> Void
        ) throws {
            let echo = try TestServer.echo()
            defer { echo.stop() }
            let proxy = try ProxyHarness(ProxyConfiguration(tcpKeepalive: keepalive, listeners: [staticListener(servers: [echo.port])]))
            defer { proxy.stop() }
            let client = try TestSocket.connect(port: proxy.port("raw"))
            defer { close(client) }
            try TestSocket.writeAll(client, Array("ping\n".utf8))
            #expect(try TestSocket.readExactly(client, 5) == Array("ping\n".utf8))
            try body(proxy, echo.port, client)
        }

        /// A short idle: the server socket gets the keepalive by then at the latest.
        private static let keepalive = TCPKeepalive(idle: .seconds(2), interval: .seconds(3), count: 4)

        @Test
        func aSessionAcceptedTheMomentTheProxyStartsHasTheListenersSocketOptions() throws {
            // The connect comes at once: the kernel completes a handshake as soon as the socket
            // listens, and the accepted socket takes the options the listening one has at that moment.
            try withLiveSession(keepalive: Self.keepalive) { proxy, _, _ in
                let accepted = try #require(KeepaliveProbe.proxySocket(localPort: proxy.port("raw")))
                #expect(KeepaliveProbe.option(accepted, Int32(IPPROTO_TCP), TCP_NODELAY) == 1)
                #expect(KeepaliveProbe.option(accepted, SOL_SOCKET, SO_KEEPALIVE) == 1)
                #expect(KeepaliveProbe.option(accepted, Int32(IPPROTO_TCP), TCP_KEEPIDLE) == 2)
            }
        }

        @Test
        func aLiveSessionsBothSocketsCarryTheConfiguredKeepalive() throws {
            try withLiveSession(keepalive: Self.keepalive) { proxy, echoPort, client in
                let clientSide = try #require(KeepaliveProbe.proxySocket(localPort: proxy.port("raw")))
                let serverSide = try #require(KeepaliveProbe.proxySocket(peerPort: echoPort))
                // The server socket gets it once the session has lived a moment; generous, only catches "never".
                // TCP_KEEPCNT is the last of the four calls: once it is set, so are the others.
                #expect(eventually(seconds: 20) { KeepaliveProbe.option(serverSide, Int32(IPPROTO_TCP), TCP_KEEPCNT) == 4 })
                for fd in [clientSide, serverSide] {
                    #expect(KeepaliveProbe.option(fd, SOL_SOCKET, SO_KEEPALIVE) == 1)
                    #expect(KeepaliveProbe.option(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE) == 2)
                    #expect(KeepaliveProbe.option(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL) == 3)
                    #expect(KeepaliveProbe.option(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT) == 4)
                }
                // The session still carries bytes after the option change.
                try TestSocket.writeAll(client, Array("pong\n".utf8))
                #expect(try TestSocket.readExactly(client, 5) == Array("pong\n".utf8))
            }
        }

        @Test
        func keepaliveOffLeavesBothSocketsOfALiveSessionWithoutIt() throws {
            try withLiveSession(keepalive: nil) { proxy, echoPort, _ in
                // Past the earliest moment a session with keepalive on gets it on its server socket.
                usleep(UInt32(Session.serverKeepaliveDelay / 1000) + 500_000)
                let clientSide = try #require(KeepaliveProbe.proxySocket(localPort: proxy.port("raw")))
                let serverSide = try #require(KeepaliveProbe.proxySocket(peerPort: echoPort))
                #expect(KeepaliveProbe.option(clientSide, SOL_SOCKET, SO_KEEPALIVE) == 0)
                #expect(KeepaliveProbe.option(serverSide, SOL_SOCKET, SO_KEEPALIVE) == 0)
            }
        }
    }
}

/// Finds the proxy's sockets among this process's descriptors and reads their options.
private enum KeepaliveProbe {
    /// The connected socket whose local port is `localPort` (the proxy's accepted client socket; the
    /// listener itself has no peer and is skipped).
    static func proxySocket(localPort: UInt16) -> Int32? {
        socket { local, peer in local == localPort && peer != nil }
    }

    /// The socket connected to `peerPort` (the proxy's server socket).
    static func proxySocket(peerPort: UInt16) -> Int32? {
        socket { _, peer in peer == peerPort }
    }

    static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    private static func socket(where matches: (UInt16, UInt16?) -> Bool) -> Int32? {
        guard let dir = opendir("/proc/self/fd") else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let fd = Int32(name), let local = port(fd, getsockname) else { continue }
            if matches(local, port(fd, getpeername)) { return fd }
        }
        return nil
    }

    private static func port(_ fd: Int32, _ query: (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?) -> Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { query(fd, $0, &length) }
        }
        guard result == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
        return UInt16(bigEndian: address.sin_port)
    }
}
