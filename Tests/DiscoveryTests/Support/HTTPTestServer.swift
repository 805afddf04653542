import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A blocking one-connection-at-a-time TCP server on 127.0.0.1 for HTTP probe tests: it reads
/// each request head, records it, and lets the test's handler answer (or misbehave) on a thread
/// of its own. Every blocking call is bounded by `poll`, so a bug shows as a failure, not a hang.
final class HTTPTestServer: @unchecked Sendable {
    // @unchecked: `listener` and `port` are immutable; the rest is behind Mutexes and Atomics.

    /// What a handler gets: the accepted socket (closed by the server after the handler returns)
    /// and the request head the client sent.
    struct Connection {
        let fd: Int32
        let request: String
        let server: HTTPTestServer

        /// Writes every byte (MSG_NOSIGNAL: a client that went away must not kill the test process).
        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                // `!`: inside the loop `bytes` is not empty, so its buffer has an address.
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }

        func send(_ text: String) { send(Array(text.utf8)) }

        /// Sends `bytes` a few at a time, each piece its own segment (TCP_NODELAY and a short pause).
        func sendInPieces(_ bytes: [UInt8], size: Int) {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var offset = 0
            while offset < bytes.count {
                let end = min(offset + size, bytes.count)
                send(Array(bytes[offset..<end]))
                offset = end
                usleep(1_000)  // pacing, not synchronization: lets each piece leave as its own segment
            }
        }

        /// Keeps the connection open without answering until the client closes it (returns `true`)
        /// or the server stops or `timeout` passes (returns `false`).
        @discardableResult
        func holdUntilClientCloses(timeout: Duration = .seconds(20)) -> Bool {
            let deadline = ContinuousClock.now + timeout
            var scratch = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline && !server.isStopping {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 20) > 0 else { continue }
                // `!`: `scratch` is not empty, so its buffer has an address.
                let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) {
                    server.clientCloses.add(1, ordering: .relaxed)
                    return true
                }
            }
            return false
        }
    }

    /// The port it listens on.
    let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Connection) -> Void
    private let requestsSeen = Mutex<[String]>([])
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(true)
    /// Connections whose client closed while a handler held them.
    let clientCloses = Atomic<Int>(0)
    /// Connections accepted so far.
    let accepted = Atomic<Int>(0)

    init(handler: @escaping @Sendable (Connection) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw TestFailure("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        self.handler = handler
        Thread { [self] in
            serve()
            running.store(false, ordering: .releasing)
        }.start()
    }

    /// A server whose every connection gets `response` in one write, then is closed.
    static func answering(_ response: String) throws -> HTTPTestServer {
        try HTTPTestServer { $0.send(response) }
    }

    /// The request heads received so far.
    var requests: [String] { requestsSeen.withLock { $0 } }

    var isStopping: Bool { stopping.load(ordering: .acquiring) }

    /// Stops accepting, lets a holding handler return, waits (bounded) for the thread, closes the listener.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let deadline = ContinuousClock.now + .seconds(10)
        while running.load(ordering: .acquiring) && ContinuousClock.now < deadline { usleep(5_000) }
        close(listener)
    }

    private func serve() {
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            accepted.add(1, ordering: .relaxed)
            let head = readHead(client)
            requestsSeen.withLock { $0.append(head) }
            handler(Connection(fd: client, request: head, server: self))
            close(client)
        }
    }

    /// Reads until the blank line that ends a request head (or 2 s, or the client closes).
    private func readHead(_ fd: Int32) -> String {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline && !head.reversed().starts(with: Array("\n\r\n\r".utf8)) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) > 0 else { continue }
            guard recv(fd, &byte, 1, 0) == 1 else { break }
            head.append(byte)
        }
        return String(decoding: head, as: UTF8.self)
    }
}

/// Socket inodes (`socket:[N]`) of this process's open descriptors, read from /proc/self/fd.
func openSocketInodes() -> Set<String> {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
    return Set(names.compactMap { socketInode(ofPath: "/proc/self/fd/\($0)") })
}

/// The `socket:[N]` link of descriptor `fd`, or `nil` if it is not an open socket.
func socketInode(of fd: Int32) -> String? {
    socketInode(ofPath: "/proc/self/fd/\(fd)")
}

private func socketInode(ofPath path: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = readlink(path, &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    let link = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return link.hasPrefix("socket:") ? link : nil
}

/// Open descriptors of this process.
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}
