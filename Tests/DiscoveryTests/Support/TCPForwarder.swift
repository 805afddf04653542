import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP forwarder that a test can cut (every connection reset, new ones closed at once)
/// and restore: a network partition between a client and ZooKeeper, on demand.
final class TCPForwarder: @unchecked Sendable {
    /// The port clients connect to.
    let port: UInt16
    private let targetPort: UInt16
    private let listener: Int32
    private let lock = NSLock()
    // Guarded by `lock`.
    private var isCut = false
    private var isStopped = false
    private var sockets: Set<Int32> = []
    private var threads = 0

    init(targetPort: UInt16) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw TestFailure("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        startThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// Resets every open connection and closes new ones at once until `restore()`.
    func cut() {
        lock.lock()
        defer { lock.unlock() }
        isCut = true
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// Forwards new connections again.
    func restore() {
        lock.lock()
        defer { lock.unlock() }
        isCut = false
    }

    /// Stops accepting, resets everything, waits (bounded) for its threads.
    func stop() {
        lock.lock()
        let already = isStopped
        isStopped = true
        for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
        guard !already else { return }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            lock.lock()
            let running = threads
            lock.unlock()
            if running == 0 { break }
            usleep(10_000)
        }
        close(listener)
    }

    private func startThread(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        threads += 1
        lock.unlock()
        Thread { [self] in
            body()
            lock.lock()
            threads -= 1
            lock.unlock()
        }.start()
    }

    private func acceptLoop() {
        while true {
            lock.lock()
            let stopped = isStopped
            lock.unlock()
            if stopped { return }
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            lock.lock()
            let refuse = isCut || isStopped
            lock.unlock()
            if refuse { close(client); continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard server >= 0, connectLoopback(server, port: targetPort) else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(server, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            lock.lock()
            sockets.insert(client)
            sockets.insert(server)
            lock.unlock()
            startThread { [self] in pump(client, server) }
        }
    }

    /// Copies both ways until either side ends, then closes both (this thread owns both fds).
    private func pump(_ a: Int32, _ b: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var pollers = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
        loop: while true {
            guard poll(&pollers, 2, 100) >= 0 else { break }
            for index in 0..<2 where pollers[index].revents != 0 {
                let from = pollers[index].fd
                let to = index == 0 ? b : a
                let count = read(from, &buffer, buffer.count)
                if count <= 0 { break loop }
                var sent = 0
                while sent < count {
                    // `buffer` is a non-empty array: its base address exists.
                    let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                    if written <= 0 { break loop }
                    sent += written
                }
            }
        }
        lock.lock()
        sockets.remove(a)
        sockets.remove(b)
        lock.unlock()
        shutdown(a, Int32(SHUT_RDWR))
        shutdown(b, Int32(SHUT_RDWR))
        close(a)
        close(b)
    }
}
