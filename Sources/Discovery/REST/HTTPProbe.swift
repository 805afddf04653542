import Glibc
import PosixIO
import Reactor
import SwitchmanCore

/// What one HTTP probe of a Patroni REST endpoint found.
public enum HTTPProbeResult: Sendable, Equatable {
    /// A complete response arrived: its status code and its body (de-chunked).
    case response(status: Int, body: [UInt8])
    /// No usable response: refused, reset, timed out, malformed, over the body limit; the text says which.
    case failed(String)
}

/// One `GET` over plain HTTP/1.1 on an event loop without ever blocking it: a non-blocking
/// connect, the request written as the socket takes it, the answer read as it arrives and parsed
/// by ``HTTPResponseParser``. One request per connection (`Connection: close`).
///
/// Loop-confined: created, driven and cancelled on one loop thread. The probe owns its socket and
/// closes it when it finishes: on a response, a failure, its deadline, or ``cancel()``. The loop
/// keeps the probe alive until then, so a caller keeps a reference only to be able to cancel it.
/// `completion` runs exactly once, on the loop, never inside `init`; after ``cancel()`` it never runs.
public final class HTTPProbe: EventHandler, @unchecked Sendable {
    // @unchecked: created and driven on one loop thread only.

    /// The response body limit used when none is given: 64 KiB, far above Patroni's status documents.
    public static let defaultBodyLimit = 64 * 1024

    private enum Phase { case connecting, sending, receiving, done }

    private let loop: EventLoop
    private let address: SocketAddress
    private let timeout: Duration
    private var fd: Int32 = -1
    private var registration: Registration?
    private var phase: Phase = .connecting
    private var timer: TimerID?
    private var completion: ((HTTPProbeResult) -> Void)?
    private var parser: HTTPResponseParser
    /// The request, and how much of it the socket has taken.
    private let request: UnsafeMutableRawBufferPointer
    private var sent = 0
    private let readBuffer: UnsafeMutableRawBufferPointer

    /// Starts `GET path` to `address` (already resolved, off the loop). Must be called on `loop`.
    ///
    /// - Parameters:
    ///   - host: the `Host` header value, e.g. ``PatroniAPIURL/hostHeader``.
    ///   - path: the request target, starting with `/` (e.g. ``PatroniAPIURL/requestPath(for:)``).
    ///   - timeout: the whole exchange, connect to last body byte, must finish within it.
    ///   - bodyLimit: a longer body fails the probe (bytes after de-chunking).
    ///   - completion: called once, on `loop`, with the outcome.
    public init(loop: EventLoop, address: SocketAddress, host: String, path: String, timeout: Duration,
                bodyLimit: Int = HTTPProbe.defaultBodyLimit, completion: @escaping (HTTPProbeResult) -> Void) {
        loop.assertInLoop()
        self.loop = loop
        self.address = address
        self.timeout = timeout
        self.completion = completion
        parser = HTTPResponseParser(bodyLimit: max(0, bodyLimit))
        let bytes = Self.request(host: host, path: path)
        request = .allocate(byteCount: bytes.count, alignment: 1)
        request.copyBytes(from: bytes)
        readBuffer = .allocate(byteCount: 8 * 1024, alignment: 1)
        // Strong captures: the loop holds these closures only until they run or are cancelled, and
        // they must keep an otherwise unreferenced probe alive long enough to report.
        timer = loop.schedule(after: timeout) { self.timedOut() }
        if let invalid = Self.invalidRequestPart(host: host, path: path) {
            fail(soon: "invalid request: \(invalid)")
            return
        }
        do throws(IOError) {
            fd = try Socket.makeTCP(family: address.family)
        } catch {
            fail(soon: "\(address): \(error)")
            return
        }
        do throws(IOError) {
            switch try Socket.connect(fd, to: address) {
            case .connected: phase = .sending
            case .inProgress: phase = .connecting
            }
        } catch {
            fail(soon: "connect to \(address): \(error.message)")
            return
        }
        do throws(IOError) {
            // Writability says the connect finished (either way), then that the request may go out.
            registration = try loop.register(fd, events: [.writable], handler: self)
        } catch {
            fail(soon: "\(address): epoll: \(error)")
        }
    }

    deinit {
        // Only reached with an open socket if the loop itself went away before the probe finished.
        if fd >= 0 { Socket.close(fd) }
        request.deallocate()
        readBuffer.deallocate()
    }

    /// Abandons the probe and closes its socket; the completion is not called. Loop thread only.
    public func cancel() {
        loop.assertInLoop()
        completion = nil
        finish(.failed("cancelled"))
    }

    /// Readiness of the probe's socket (the loop calls this).
    public func handleEvents(_ events: EpollEvents, token: UInt32) {
        switch phase {
        case .connecting:
            if let error = Socket.pendingError(fd) {
                finish(.failed("connect to \(address): \(error.message)"))
                return
            }
            phase = .sending
            send()
        case .sending:
            send()
        case .receiving:
            receive()
        case .done:
            return
        }
    }

    // MARK: - Steps

    private func send() {
        while sent < request.count {
            let result: IOResult<Int>
            do throws(IOError) {
                // `request` is allocated with a non-zero size (the request line alone has bytes).
                result = try Socket.send(fd, from: request.baseAddress! + sent, count: request.count - sent)
            } catch {
                finish(.failed("\(Self.describe(error, peer: address)) while sending the request"))
                return
            }
            switch result {
            case .processed(let count): sent += count
            case .wouldBlock: return  // still registered for writability
            }
        }
        phase = .receiving
        guard let registration else { return }
        do throws(IOError) {
            try loop.modify(fd, registration, events: [.readable])
        } catch {
            finish(.failed("epoll: \(error)"))
        }
    }

    private func receive() {
        let result: IOResult<Int>
        do throws(IOError) {
            // `readBuffer` is allocated with a fixed non-zero size in init.
            result = try Socket.read(fd, into: readBuffer.baseAddress!, count: readBuffer.count)
        } catch {
            finish(.failed("\(Self.describe(error, peer: address)) after \(parser.bytesReceived) bytes of the answer"))
            return
        }
        let outcome: HTTPResponseParser.Outcome
        switch result {
        case .wouldBlock:
            return
        case .processed(0):
            outcome = parser.finish()
        case .processed(let count):
            outcome = parser.consume(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
        }
        switch outcome {
        case .needMore: return
        case .complete(let status, let body): finish(.response(status: status, body: body))
        case .failed(let reason): finish(.failed("\(address): \(reason)"))
        }
    }

    private func timedOut() {
        timer = nil
        let stage = switch phase {
        case .connecting: "connecting"
        case .sending: "sending the request"
        case .receiving, .done: "waiting for the answer (\(parser.bytesReceived) bytes received)"
        }
        finish(.failed("\(address): timed out after \(timeout.humanReadable) \(stage)"))
    }

    /// Reports a failure found in `init` on the loop's next turn, so the caller never sees its
    /// completion run inside `init`.
    private func fail(soon reason: String) {
        loop.executeSoon { self.finish(.failed(reason)) }
    }

    private func finish(_ result: HTTPProbeResult) {
        guard phase != .done else { return }
        phase = .done
        if let timer { loop.cancel(timer) }
        timer = nil
        if let registration { loop.deregister(fd, registration) }
        registration = nil
        if fd >= 0 { Socket.close(fd) }
        fd = -1
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }

    // MARK: - Request

    /// The request bytes: `GET <path> HTTP/1.1` with Host, User-Agent, Accept and `Connection: close`.
    static func request(host: String, path: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: switchman-check\r\nAccept: application/json\r\nConnection: close\r\n\r\n".utf8)
    }

    /// Why `host` or `path` cannot go into a request line or header (they would split it), or `nil`.
    static func invalidRequestPart(host: String, path: String) -> String? {
        let forbidden: (UInt8) -> Bool = { $0 < 0x21 || $0 == 0x7F }
        if host.isEmpty || host.utf8.contains(where: forbidden) { return "Host \(HTTPResponseParser.quoted(Array(host.utf8)))" }
        if !path.hasPrefix("/") || path.utf8.contains(where: forbidden) { return "path \(HTTPResponseParser.quoted(Array(path.utf8)))" }
        return nil
    }

    /// `connection refused by …`, `connection reset by …`, or the call and errno for anything else.
    private static func describe(_ error: IOError, peer: SocketAddress) -> String {
        switch error.errno {
        case ECONNRESET: "connection reset by \(peer)"
        case EPIPE: "connection closed by \(peer)"
        case ECONNREFUSED: "connection refused by \(peer)"
        default: "\(peer): \(error)"
        }
    }

    /// The probe's socket while it runs, -1 once finished (for tests that check it gets closed).
    var descriptor: Int32 { fd }
}
