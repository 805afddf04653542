import Glibc
import Logging
import PosixIO
import Reactor
import SwitchmanCore

/// The operators' HTTP server on one event loop: accepts, parses with ``HTTPRequestParser``, asks for
/// a snapshot, answers with ``StatsRoutes``. Slow or silent clients are dropped after `requestTimeout`;
/// at most `maxClients` connections at once: past it, a new client takes the place of the oldest one
/// still waiting for its request to arrive (silent or trickling: the one a slowloris holds longest),
/// and is closed on accept only when every connection is being answered. None of it touches the
/// data plane's sessions.
///
/// Out of descriptors (the data plane took them all), the server still answers one client at a
/// time on a descriptor it keeps in reserve; beyond that it pauses accepting with a backoff
/// instead of retrying on every loop turn (the pending connection keeps the socket readable), and
/// logs the shortage once.
public final class StatsHTTPServer: EventHandler, @unchecked Sendable {
    // @unchecked: after `start`, everything runs on `loop`'s thread.

    /// Produces a snapshot and hands it to the callback on any thread. The server waits at most
    /// `snapshotTimeout` for it and then answers 503, so a stuck loop cannot hang `/health`.
    public typealias SnapshotProvider = (@escaping @Sendable (StatsSnapshot) -> Void) -> Void

    /// Performs an authorised runtime control and hands the outcome back on any thread (bounded by
    /// `snapshotTimeout` like a snapshot; a late outcome is still applied, only its answer is lost).
    public typealias ControlHandler = (ControlCommand, @escaping @Sendable (ControlOutcome) -> Void) -> Void

    private let loop: EventLoop
    private let configuration: StatsRouteConfiguration
    private let provider: SnapshotProvider
    private let controller: ControlHandler?
    private let logger: Logger
    private let requestTimeout: Duration
    private let snapshotTimeout: Duration
    private let maxClients: Int
    private var listenFD: Int32 = -1
    private var registration: Registration?
    private var clients: [ObjectIdentifier: StatsConnection] = [:]
    /// A descriptor held (on /dev/null) so a client can be accepted when the process has none left.
    private var spareFD: Int32 = -1
    /// Accepting is paused for a descriptor or memory shortage; `shortageTimer` ends the pause.
    private var acceptPaused = false
    private var shortageTimer: TimerID?
    /// Pauses in a row for the current shortage (0: accepting fine, the next shortage is logged).
    private var shortageFailures = 0

    /// The bound address (the real port when the config said port 0), set by ``start(bind:)``.
    public private(set) var address: SocketAddress?

    public init(loop: EventLoop, configuration: StatsRouteConfiguration, logger: Logger,
                requestTimeout: Duration = .seconds(5), snapshotTimeout: Duration = .seconds(2), maxClients: Int = 256,
                controller: ControlHandler? = nil, provider: @escaping SnapshotProvider) {
        self.controller = controller
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.snapshotTimeout = snapshotTimeout
        self.maxClients = maxClients
        self.provider = provider
    }

    /// Binds (on the calling thread, so a bind error reaches the caller) and starts accepting on the loop.
    public func start(bind: SocketAddress) throws(IOError) {
        let fd = try Socket.listen(on: bind, backlog: 128, reusePort: false)
        listenFD = fd
        address = try Socket.localAddress(fd)
        loop.execute { [self] in
            self.reserveSpare()
            do {
                self.registration = try self.loop.register(fd, events: [.readable], handler: self)
            } catch {
                self.logger.error("stats: cannot register the listening socket: \(error)")
            }
        }
    }

    /// Closes the listening socket and every client. Loop thread.
    public func stop() {
        if let registration { loop.deregister(listenFD, registration) }
        registration = nil
        if listenFD >= 0 { Socket.close(listenFD) }
        listenFD = -1
        if let shortageTimer { loop.cancel(shortageTimer) }
        shortageTimer = nil
        for client in clients.values { client.close() }
        if spareFD >= 0 { Socket.close(spareFD) }
        spareFD = -1
    }

    public func handleEvents(_ events: EpollEvents, token: UInt32) {
        guard !acceptPaused, listenFD >= 0 else { return }
        for _ in 0..<32 {
            let accepted: AcceptedSocket
            do {
                guard case .processed(let socket) = try Socket.accept(listenFD) else {
                    shortageFailures = 0
                    return
                }
                accepted = socket
            } catch {
                if error.isDescriptorExhaustion, let socket = acceptOnSpare() {
                    accepted = socket
                } else {
                    if error.isDescriptorExhaustion || error.errno == ENOBUFS || error.errno == ENOMEM { pauseForShortage(error) }
                    return
                }
            }
            if clients.count >= maxClients && !evictOldestWaitingClient() {
                Socket.close(accepted.fd)
                reserveSpare()
                continue
            }
            let connection = StatsConnection(fd: accepted.fd, peer: accepted.peer.map { "\($0)" } ?? "unknown", server: self)
            clients[ObjectIdentifier(connection)] = connection
            connection.start(timeout: requestTimeout)
        }
    }

    /// Closes the connection that has waited longest for its request; false when none is waiting.
    private func evictOldestWaitingClient() -> Bool {
        var oldest: StatsConnection?
        for client in clients.values where client.waitsForRequest {
            if oldest == nil || client.acceptedAt < oldest!.acceptedAt { oldest = client }
        }
        guard let oldest else { return false }
        oldest.close()
        return true
    }

    /// Gives the reserved descriptor up and accepts into it (the lowest free number is the one just
    /// closed); nil when there is no spare or the accept fails anyway.
    private func acceptOnSpare() -> AcceptedSocket? {
        guard spareFD >= 0 else { return nil }
        Socket.close(spareFD)
        spareFD = -1
        guard case .processed(let socket)? = try? Socket.accept(listenFD) else {
            reserveSpare()
            return nil
        }
        return socket
    }

    /// Takes the reserve descriptor again if it was given up (fails quietly while none is free).
    private func reserveSpare() {
        guard spareFD < 0 else { return }
        let fd = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        if fd >= 0 { spareFD = fd }
    }

    /// Out of descriptors or kernel memory: the connection stays in the backlog and the
    /// level-triggered socket stays readable, so retrying at once would spin the loop (and log on
    /// every turn). Stops watching the socket for 100 ms, doubling up to 1 s while the shortage
    /// lasts; logs once per shortage (it ends when the backlog is found empty).
    private func pauseForShortage(_ error: IOError) {
        if shortageFailures == 0 {
            logger.warning("stats: accept failed (\(error.message)); pausing accept, retrying with backoff")
        }
        let delay = Duration.milliseconds(min(100 << min(shortageFailures, 4), 1000))
        shortageFailures += 1
        acceptPaused = true
        if let registration { try? loop.modify(listenFD, registration, events: []) }
        if let shortageTimer { loop.cancel(shortageTimer) }
        shortageTimer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            self.shortageTimer = nil
            self.resumeAccepting()
        }
    }

    private func resumeAccepting() {
        guard acceptPaused else { return }
        acceptPaused = false
        reserveSpare()
        if let registration, listenFD >= 0 { try? loop.modify(listenFD, registration, events: [.readable]) }
    }

    fileprivate var eventLoop: EventLoop { loop }

    fileprivate func closed(_ connection: StatsConnection) {
        clients[ObjectIdentifier(connection)] = nil
        // The descriptor just freed may be the spare's: take it back before the data plane does.
        reserveSpare()
    }

    /// Answers `request`: performs a control, or gathers a snapshot (bounded wait each).
    fileprivate func respond(to request: HTTPRequest, client: String, _ completion: @escaping (HTTPResponse) -> Void) {
        if AdminRoutes.handles(request.path) {
            control(request, client: client, completion)
            return
        }
        let box = ResponseBox(completion)
        let answered = AnsweredFlag()
        let timer = loop.schedule(after: snapshotTimeout) {
            guard answered.set() else { return }
            box.completion(HTTPResponse(status: 503, body: "503 stats unavailable: an event loop did not answer within \(self.snapshotTimeout.humanReadable)\n"))
        }
        provider { [loop, configuration] snapshot in
            loop.execute {
                guard answered.set() else { return }
                loop.cancel(timer)
                box.completion(StatsRoutes.respond(to: request, snapshot: snapshot, configuration: configuration))
            }
        }
    }
}

extension StatsHTTPServer {
    /// A request under `/admin/`: refused by ``AdminRoutes``, or performed by the controller.
    fileprivate func control(_ request: HTTPRequest, client: String, _ completion: @escaping (HTTPResponse) -> Void) {
        let command: ControlCommand
        switch AdminRoutes.decide(request, admin: configuration.admin, client: client) {
        case .respond(let response):
            if response.status == 401 {
                logger.warning("control refused: wrong or missing credentials", metadata: ["client": "\(client)", "path": "\(request.path)"])
            }
            completion(response)
            return
        case .perform(let authorised):
            command = authorised
        }
        guard let controller else {
            completion(AdminRoutes.response(for: .conflict("this process has no controls to apply")))
            return
        }
        let box = ResponseBox(completion)
        let answered = AnsweredFlag()
        let timer = eventLoop.schedule(after: snapshotTimeout) { [snapshotTimeout] in
            guard answered.set() else { return }
            box.completion(HTTPResponse(status: 503, body: "503 control not confirmed within \(snapshotTimeout.humanReadable); check the page or the log\n"))
        }
        let loop = eventLoop
        controller(command) { outcome in
            loop.execute {
                guard answered.set() else { return }
                loop.cancel(timer)
                box.completion(AdminRoutes.response(for: outcome))
            }
        }
    }
}

/// One client of the stats server. Loop-confined; owns its socket.
private final class StatsConnection: EventHandler {
    private let fd: Int32
    /// The client's `ip:port`, for the controls' log.
    private let peer: String
    private unowned let server: StatsHTTPServer
    private var registration: Registration?
    private var parser = HTTPRequestParser()
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeAfterWrite = false
    private var busy = false
    private var timer: TimerID?
    private var isClosed = false
    /// The loop's clock when the connection was accepted.
    let acceptedAt: UInt64

    init(fd: Int32, peer: String, server: StatsHTTPServer) {
        self.fd = fd
        self.peer = peer
        self.server = server
        acceptedAt = server.eventLoop.now
    }

    /// No complete request yet: nothing is being answered.
    var waitsForRequest: Bool { !busy && !closeAfterWrite && !isClosed }

    func start(timeout: Duration) {
        do {
            registration = try server.eventLoop.register(fd, events: [.readable, .readHangup], handler: self)
        } catch {
            close()
            return
        }
        // A client gets `timeout` for each request; one that sends nothing or trickles bytes is dropped.
        timer = server.eventLoop.schedule(after: timeout) { [weak self] in self?.close() }
    }

    func handleEvents(_ events: EpollEvents, token: UInt32) {
        if busy || closeAfterWrite {
            // A request was taken (its snapshot is on its way, or its answer is being written):
            // nothing more is read. Only a reset or closed client can be acted on, as no one is left
            // to answer (HUP and ERR are reported even with no events asked for).
            if !events.isDisjoint(with: [.hangup, .error]) {
                close()
                return
            }
            if events.contains(.writable) { flush() }
            return
        }
        if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { readAvailable(events) }
    }

    private func readAvailable(_ events: EpollEvents) {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let result: IOResult<Int>
            do {
                result = try chunk.withUnsafeMutableBytes { raw throws(IOError) in try Socket.read(fd, into: raw.baseAddress!, count: raw.count) }
            } catch {
                close()
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .processed(0):
                close()
                return
            case .processed(let n):
                switch parser.feed(chunk[0..<n]) {
                case .needMore:
                    continue
                case .error(let status, let reason, let allow):
                    closeAfterWrite = true
                    send(HTTPResponse.parseError(status: status, reason: reason, allow: allow).serialized(keepAlive: false))
                    return
                case .request(let request):
                    handle(request)
                    return
                }
            }
        }
    }

    private func handle(_ request: HTTPRequest) {
        busy = true
        // Level-triggered: a client that half-closed after its request (RDHUP), or sent more bytes,
        // would wake the loop on every turn until the answer is ready. Nothing can be done with
        // either before then, so stop watching them.
        if let registration { try? server.eventLoop.modify(fd, registration, events: []) }
        server.respond(to: request, client: peer) { [weak self] response in
            guard let self, !self.isClosed else { return }
            self.busy = false
            // One request per connection keeps the server simple and bounded; browsers reconnect.
            self.closeAfterWrite = true
            self.send(response.serialized(keepAlive: false, includeBody: request.method != .head))
        }
    }

    private func send(_ bytes: [UInt8]) {
        output = bytes
        outputOffset = 0
        flush()
    }

    private func flush() {
        while outputOffset < output.count {
            let result: IOResult<Int>
            do {
                result = try output.withUnsafeBytes { raw throws(IOError) in
                    try Socket.write(fd, from: raw.baseAddress! + outputOffset, count: raw.count - outputOffset)
                }
            } catch {
                close()
                return
            }
            switch result {
            case .wouldBlock:
                // Writable only: a client that half-closed after its request still gets the whole answer.
                if let registration { try? server.eventLoop.modify(fd, registration, events: [.writable]) }
                return
            case .processed(let n):
                outputOffset += n
            }
        }
        if closeAfterWrite && outputOffset >= output.count && !output.isEmpty {
            Socket.shutdownWrite(fd)
            close()
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        if let timer { server.eventLoop.cancel(timer) }
        if let registration { server.eventLoop.deregister(fd, registration) }
        registration = nil
        Socket.close(fd)
        server.closed(self)
    }
}

/// Carries a loop-confined completion across the provider's thread hop (it is only called on the loop).
private final class ResponseBox: @unchecked Sendable {
    let completion: (HTTPResponse) -> Void
    init(_ completion: @escaping (HTTPResponse) -> Void) { self.completion = completion }
}

/// Set once, from the loop thread only (the timeout and the snapshot race on the same loop).
private final class AnsweredFlag: @unchecked Sendable {
    private var done = false
    func set() -> Bool {
        if done { return false }
        done = true
        return true
    }
}
