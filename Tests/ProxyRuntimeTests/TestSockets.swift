import Glibc
import Foundation
import PosixIO
import Reactor
import Synchronization
import TestSupport

/// Blocking loopback sockets for tests, with receive/send timeouts so a bug shows as a failure, not a hang.
enum TestSocket {
    static func connect(port: UInt16, timeoutSeconds: Int = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        setTimeouts(fd, seconds: timeoutSeconds)
        let address = SocketAddress(literal: "127.0.0.1", port: port)!
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            let error = IOError(errno: errno, call: "connect")
            close(fd)
            throw error
        }
        return fd
    }

    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A blocking listener on 127.0.0.1 (port 0: any free port); returns (fd, port).
    static func listen(port: UInt16 = 0) throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        let address = SocketAddress(literal: "127.0.0.1", port: port)!
        guard address.withSockAddr({ Glibc.bind(fd, $0, $1) }) == 0, Glibc.listen(fd, 128) == 0 else {
            throw IOError(errno: errno, call: "bind/listen")
        }
        return (fd, try Socket.localAddress(fd).port)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(errno: errno, call: "write")
            }
            offset += n
        }
    }

    /// Reads until EOF (or `limit` bytes); throws on error or timeout.
    static func readToEnd(_ fd: Int32, limit: Int = 1 << 30) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(errno: errno, call: "read")
            }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Reads exactly `count` bytes.
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < count {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, min($0.count, count - result.count)) }
            if n == 0 { throw IOError(errno: 0, call: "read: early EOF after \(result.count) bytes") }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError(errno: errno, call: "read")
            }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Whether the peer closed: read returns 0 (or reset) within the socket's timeout.
    static func waitForClose(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = Glibc.read(fd, &byte, 1)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// A test backend: accepts connections on its own thread and runs `handler` for each on a new thread.
final class TestServer: Sendable {
    let port: UInt16
    private let fd: Int32
    let accepted = Atomic<Int>(0)

    init(port: UInt16 = 0, handler: @escaping @Sendable (Int32) -> Void) throws {
        let (fd, port) = try TestSocket.listen(port: port)
        self.fd = fd
        self.port = port
        DetachedThread.spawn(name: "test-server") { [self] in
            while true {
                let client = Glibc.accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                self.accepted.add(1, ordering: .relaxed)
                TestSocket.setTimeouts(client, seconds: 20)
                DetachedThread.spawn(name: "test-conn") {
                    handler(client)
                    Glibc.close(client)
                }
            }
        }
    }

    /// Stops accepting (the accept thread returns).
    func stop() {
        Glibc.shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    /// Echoes everything until EOF, then closes.
    static func echo(port: UInt16 = 0) throws -> TestServer {
        try TestServer(port: port) { fd in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                if n <= 0 { return }
                try? TestSocket.writeAll(fd, Array(buffer[0..<n]))
            }
        }
    }
}

/// A free TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
/// A server whose accept queue is full, so the kernel drops a new connection's SYN: a connect to it
/// stays pending until ``acceptProxy()`` drains the queue and the SYN is sent again (about a second
/// later, its first retransmission).
final class ServerWithFullAcceptQueue {
    let port: UInt16
    private let listening: Int32
    private let filler: Int32

    init() throws {
        (listening, port) = try TestSocket.listen()
        Glibc.listen(listening, 0)  // room for one queued connection
        TestSocket.setTimeouts(listening, seconds: 10)  // bounds the accepts
        filler = try TestSocket.connect(port: port)  // takes that one place
    }

    /// Drains the filler, then accepts the pending connection once its SYN comes again.
    func acceptProxy() throws -> Int32 {
        let queued = accept(listening, nil, nil)
        guard queued >= 0 else { throw IOError(errno: errno, call: "accept (the queued filler)") }
        close(queued)
        let server = accept(listening, nil, nil)
        guard server >= 0 else { throw IOError(errno: errno, call: "accept (the pending connection)") }
        TestSocket.setTimeouts(server, seconds: 10)
        return server
    }

    func stop() {
        close(filler)
        close(listening)
    }
}

/// A loopback port that nothing listens on, and that stays so while the test runs (see
/// ``loopbackPortBelowTheEphemeralRange()``).
func closedPort() throws -> UInt16 { try loopbackPortBelowTheEphemeralRange() }

/// Open descriptors of this process.
func openDescriptorCount() -> Int {
    guard let dir = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(dir) }
    var count = 0
    while readdir(dir) != nil { count += 1 }
    return count - 3  // ".", ".." and the directory's own descriptor
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass.
func eventually(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = SystemClock.monotonicNanoseconds() + UInt64(seconds * 1e9)
    while SystemClock.monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Deterministic pseudo-random bytes (so a corrupted or reordered byte is caught).
func patternBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return bytes
}

/// One end of a TCP connection on 127.0.0.1, as the kernel lists it in /proc/net/tcp.
struct TCPConnection {
    /// The states tests look for (the kernel's numbers, include/net/tcp_states.h).
    enum State: Equatable {
        case established, finWait1, finWait2, timeWait, closeWait, lastAck, closing, other(Int)
    }

    let localPort: UInt16
    let remotePort: UInt16

    /// This end's state, nil when the kernel lists no such socket (closed, or its TIME_WAIT over).
    func state() -> State? {
        let local = String(format: "0100007F:%04X", localPort)
        let remote = String(format: "0100007F:%04X", remotePort)
        for line in textOfFile("/proc/net/tcp").split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 3, fields[1] == local, fields[2] == remote, let code = Int(fields[3], radix: 16) else { continue }
            switch code {
            case 1: return .established
            case 4: return .finWait1
            case 5: return .finWait2
            case 6: return .timeWait
            case 8: return .closeWait
            case 9: return .lastAck
            case 11: return .closing
            default: return .other(code)
            }
        }
        return nil
    }
}
