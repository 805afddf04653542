import Foundation
import Glibc
import Synchronization

/// What the kernel says about another process: resident memory, open descriptors, CPU time.
enum ProcessProbe {
    /// `VmRSS` from `/proc/<pid>/status`, in bytes (0 when unreadable).
    static func residentBytes(_ pid: pid_t) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    /// Entries of `/proc/<pid>/fd` (-1 when unreadable).
    static func openDescriptors(_ pid: pid_t) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return -1 }
        return entries.count
    }

    /// User plus system CPU time from `/proc/<pid>/stat`, in seconds.
    static func cpuSeconds(_ pid: pid_t) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after "comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Raises this process's soft RLIMIT_NOFILE to `wanted` (or the hard limit, if lower); returns the
/// soft limit now in force.
@discardableResult
func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    let target = min(rlim_t(wanted), limit.rlim_max)
    if limit.rlim_cur < target {
        limit.rlim_cur = target
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(limit.rlim_cur)
}

/// Loopback sockets for the fault tests, with timeouts so a bug shows as a failure, not a hang.
enum FaultSocket {
    /// `accept`, the new descriptor marked close-on-exec at once: processes other tests spawn
    /// meanwhile must not inherit it, or closing it here sends no FIN (Glibc's module has no
    /// `accept4`; the window between the two calls is a few instructions).
    static func acceptClosingOnExec(_ listener: Int32) -> Int32 {
        let fd = accept(listener, nil, nil)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }

    /// A blocking connection to 127.0.0.1:`port` (throws when refused).
    static func connect(_ port: Int, timeoutSeconds: Int = 10) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket: errno \(errno)") }
        setTimeouts(fd, seconds: timeoutSeconds)
        var address = loopback(port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw FixtureError("connect 127.0.0.1:\(port): \(String(cString: strerror(code)))")
        }
        return fd
    }

    /// Starts a non-blocking connection (it completes in the kernel's backlog whether or not the
    /// peer accepts); the descriptor is left non-blocking. -1 when no descriptor could be had.
    static func connectNonBlocking(_ port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = loopback(port)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }

    static func setTimeouts(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A blocking listener on 127.0.0.1 (any free port); returns (fd, port).
    static func listen(backlog: Int32 = 4096) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var address = loopback(0)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else { throw FixtureError("bind/listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FixtureError("send: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Reads exactly `count` bytes (throws on end of file, error or timeout).
    static func readExactly(_ fd: Int32, _ count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = result.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, count - offset) }
            if n == 0 { throw FixtureError("end of file after \(offset) of \(count) bytes") }
            if n < 0 {
                if errno == EINTR { continue }
                throw FixtureError("read after \(offset) of \(count) bytes: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        return result
    }

    /// Reads and discards until end of file; returns the byte count (throws on error or timeout).
    static func drain(_ fd: Int32) throws -> Int {
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n == 0 { return total }
            if n < 0 {
                if errno == EINTR { continue }
                throw FixtureError("read after \(total) bytes: \(String(cString: strerror(errno)))")
            }
            total += n
        }
    }

    /// One `GET path` on the stats port; returns the status line, or throws (timeout included).
    static func httpStatusLine(_ port: Int, _ path: String, timeoutSeconds: Int = 5) throws -> String {
        let fd = try connect(port, timeoutSeconds: timeoutSeconds)
        defer { Glibc.close(fd) }
        try writeAll(fd, Array("GET \(path) HTTP/1.0\r\n\r\n".utf8))
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !answer.contains(10) {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { throw FixtureError("stats \(path): no answer (\(n < 0 ? String(cString: strerror(errno)) : "end of file"))") }
            answer += chunk[0..<n]
        }
        return String(decoding: answer.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
    }

    private static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}

/// An echo server for thousands of connections on one thread (poll, non-blocking): what it reads
/// it writes back, buffering what the peer does not take yet. Counts the connections it holds.
final class LoopbackEchoServer: @unchecked Sendable {
    // @unchecked: the connections live on the server's own thread; others read the atomics.
    let port: Int
    /// Connections open now.
    let open = Atomic<Int>(0)
    /// Connections accepted in all.
    let accepted = Atomic<Int>(0)
    private let listenFD: Int32
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)

    init() throws {
        (listenFD, port) = try FaultSocket.listen()
        _ = fcntl(listenFD, F_SETFL, fcntl(listenFD, F_GETFL) | O_NONBLOCK)
        let thread = Thread { [self] in run() }
        thread.name = "echo-server"
        thread.start()
    }

    /// Stops the thread and closes every descriptor it held (bounded wait).
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for _ in 0..<500 where !finished.load(ordering: .acquiring) { usleep(10_000) }
    }

    private func run() {
        var pending: [Int32: [UInt8]] = [:]
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var polled: [pollfd] = []
        while !stopped.load(ordering: .acquiring) {
            polled.removeAll(keepingCapacity: true)
            polled.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0))
            for (fd, out) in pending {
                polled.append(pollfd(fd: fd, events: Int16(POLLIN) | (out.isEmpty ? 0 : Int16(POLLOUT)), revents: 0))
            }
            let count = poll(&polled, nfds_t(polled.count), 100)
            if count <= 0 { continue }
            for entry in polled where entry.revents != 0 {
                let fd = entry.fd
                if fd == listenFD {
                    while true {
                        let client = FaultSocket.acceptClosingOnExec(listenFD)
                        if client < 0 { break }
                        _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                        accepted.add(1, ordering: .relaxed)
                        open.add(1, ordering: .relaxed)
                        pending[client] = []
                    }
                    continue
                }
                var closed = false
                while true {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                    if n > 0 { pending[fd]! += chunk[0..<n]; continue }
                    if n < 0 && errno == EINTR { continue }
                    if n == 0 || errno != EAGAIN { closed = true }
                    break
                }
                if var out = pending[fd], !out.isEmpty {
                    let n = out.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n > 0 { out.removeFirst(n) }
                    if n < 0 && errno != EAGAIN { closed = true }
                    pending[fd] = out
                }
                if closed {
                    pending[fd] = nil
                    close(fd)
                    open.subtract(1, ordering: .relaxed)
                }
            }
        }
        for fd in pending.keys { close(fd) }
        open.store(0, ordering: .relaxed)
        close(listenFD)
        finished.store(true, ordering: .releasing)
    }
}

/// A server whose every connection is sent `total` bytes (a repeating pattern, in `chunk`-sized
/// writes) and then closed; it records how far each send got.
final class FirehoseServer: @unchecked Sendable {
    let port: Int
    /// Bytes the current connection has written so far (the kernel took them).
    var sent: Int { counter.value.load(ordering: .relaxed) }
    private let counter = SentCounter()
    private let listenFD: Int32

    private final class SentCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    init(total: Int, chunk: Int = 1 << 20) throws {
        (listenFD, port) = try FaultSocket.listen()
        let fd = listenFD
        let counter = self.counter
        let thread = Thread {
            let block = (0..<chunk).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            while true {
                let client = FaultSocket.acceptClosingOnExec(fd)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                FaultSocket.setTimeouts(client, seconds: 60)
                counter.value.store(0, ordering: .relaxed)
                var left = total
                while left > 0 {
                    let size = min(left, block.count)
                    let n = block.withUnsafeBytes { send(client, $0.baseAddress!, size, Int32(MSG_NOSIGNAL)) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        break
                    }
                    left -= n
                    counter.value.add(n, ordering: .relaxed)
                }
                close(client)
            }
        }
        thread.name = "firehose"
        thread.start()
    }

    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
    }
}

/// A TCP forwarder from 127.0.0.1:`listenPort` to 127.0.0.1:`targetPort`, two threads per
/// connection; `stop()` closes the listener and every forwarded connection.
final class LoopbackForwarder: @unchecked Sendable {
    // @unchecked: the descriptor list is guarded by its mutex; the rest is immutable.
    private let listenFD: Int32
    private let connections = Mutex<[Int32]>([])

    init(listenPort: Int, targetPort: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 4)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(listenPort).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw FixtureError("forwarder bind 127.0.0.1:\(listenPort): errno \(errno)")
        }
        listenFD = fd
        let thread = Thread { [self] in
            while true {
                let client = FaultSocket.acceptClosingOnExec(fd)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                guard let upstream = try? FaultSocket.connect(targetPort) else {
                    close(client)
                    continue
                }
                // No timeouts on forwarded connections: ZooKeeper sessions idle between pings.
                FaultSocket.setTimeouts(upstream, seconds: 0)
                connections.withLock { $0 += [client, upstream] }
                Self.pump(from: client, to: upstream)
                Self.pump(from: upstream, to: client)
            }
        }
        thread.start()
    }

    /// Closes the listener and every connection it forwarded.
    func stop() {
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        connections.withLock { fds in
            fds.forEach { shutdown($0, Int32(SHUT_RDWR)) }
        }
    }

    private static func pump(from source: Int32, to destination: Int32) {
        let thread = Thread {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress!, $0.count) }
                if n <= 0 { break }
                if (try? FaultSocket.writeAll(destination, Array(chunk[0..<n]))) == nil { break }
            }
            shutdown(destination, Int32(SHUT_WR))
        }
        thread.start()
    }
}

extension StaticSwitchman {
    /// The fault tests' set-up: a Switchman (2 threads, no session log) whose static listener `raw`
    /// relays to `echo`, with a stats port; `globalMaxconn` and `openFileLimit` as the test needs.
    /// Returns it and its stats port.
    static func inFrontOf(_ echo: LoopbackEchoServer, globalMaxconn: Int? = nil,
                          openFileLimit: Int? = nil) throws -> (proxy: StaticSwitchman, statsPort: Int) {
        let ports = try freeLoopbackPorts(2)
        let proxy = try StaticSwitchman(configuration: """
            threads: 2
            \(globalMaxconn.map { "maxconn: \($0)" } ?? "")
            log_sessions: false
            listeners:
              - { name: raw, bind: "127.0.0.1:\(ports[0])", role: static, servers: ["127.0.0.1:\(echo.port)"] }
            stats: { bind: "127.0.0.1:\(ports[1])" }
            """, openFileLimit: openFileLimit)
        return (proxy, ports[1])
    }
}
