import Glibc
import PosixIO
import Reactor
import SwitchmanCore

/// One proxied connection: the client's socket, the server's, and a pump each way.
///
/// Owned by its ``Worker`` (one event loop) from accept to end; every method runs on that loop's
/// thread. It owns both sockets and closes them in ``end(_:)``, which is idempotent and deregisters
/// before closing, so no event reaches a closed session.
///
/// While the connection starts, a ``StartupMachine`` follows PostgreSQL's start-up, and the session
/// performs the I/O it asks for (Session+Startup.swift): clear errors instead of a bare close,
/// invisible retries on 57P03, cancel requests routed to their node. The machine is made only when
/// the first bytes (or another event it must judge) arrive, and kept in `startup` until it hands
/// off; then the pumps move the bytes blindly, and the only cost left on the hot path is the check
/// of ``sniffing``. A static listener's connected session reads the first bytes into the upstream
/// pump instead, and makes no machine at all when they cannot begin a PostgreSQL start-up
/// (``readFirstClientBytes()``).
final class Session: EventHandler, @unchecked Sendable {
    // @unchecked: confined to its worker's loop thread.

    enum State: Equatable {
        /// Waiting for a route (held during a failover), a queue slot, or a name lookup.
        case waiting
        /// Non-blocking connect in progress.
        case connecting
        /// Bytes flow both ways (through the start-up sniffing first, then the pumps).
        case established
        /// No server: answering a PostgreSQL client with an ErrorResponse before closing.
        case refusing
        /// The connection carried a CancelRequest, being forwarded; closed when that is done.
        case cancelling
        /// Ended; sockets closed.
        case closed
    }

    private static let clientToken: UInt32 = 0
    private static let serverToken: UInt32 = 1

    // Stored properties run from 8-byte-aligned to 4- and 1-byte ones, and the 1-byte ones fill the
    // tails of the 9-byte optionals and 53-byte pumps (Swift lays a class out in declaration order),
    // so an idle session (there may be thousands) carries almost no padding (4 bytes): 376 bytes,
    // a 384-byte malloc chunk. Internal rather than private where
    // Session+Startup.swift needs them.
    let id: UInt64
    // unowned(unsafe): the worker outlives everything it owns; the checked form cost ~5% of CPU
    // under load in reference counting.
    unowned(unsafe) let worker: Worker
    let listener: ListenerRuntime
    /// The timeouts in force when the session started (shared by every session of that configuration:
    /// a reference, not five Durations, keeps an idle session small).
    let timeoutSettings: TimeoutSettings
    var timeouts: Timeouts { timeoutSettings.value }
    /// The buffer and pipe pools of the configuration the session started with (a reload that
    /// resizes them leaves live sessions on theirs).
    private let pools: PumpPools
    let acceptedAt: UInt64
    let peer: SocketAddress?

    /// The server this session is connected (or connecting) to, with its cross-loop counts.
    private(set) var slot: ServerSlot?
    /// The server this session is connected (or connecting) to.
    var server: RouteServer? { slot?.server }
    /// This loop's counters of the connected server (set by the worker on connect).
    var serverTally: ServerTally?
    var serverAddress: SocketAddress?
    /// Further addresses of the chosen server's name, tried in turn when a connect fails.
    var untriedAddresses: [SocketAddress] = []
    var triedServers: Set<String> = []
    /// Monotonic deadline of a hold or queue wait; 0 when not waiting.
    var waitDeadline: UInt64 = 0
    /// Why the session is waiting, for its end reason when the wait times out. Kept in the start-up
    /// state, which exists for as long as a session can wait (until the pumps take over), so an
    /// established session carries no string for it.
    var waitReason: String {
        get { startup?.waitReason ?? "" }
        set {
            // A machine not made yet has no reason either: only a real one is worth making it for.
            if startup == nil && newValue.isEmpty { return }
            wakeStartup()?.waitReason = newValue
        }
    }
    /// Monotonic time of the next start-up replay after a 57P03 (0: none scheduled).
    var retryAt: UInt64 = 0
    private var connectDeadline: UInt64 = 0
    private var connectedAt: UInt64 = 0
    var lastClientActivity: UInt64
    var lastServerActivity: UInt64
    private var timerDeadline: UInt64 = .max

    /// The start-up machine, made when the first event it must judge arrives (``wakeStartup()``);
    /// nil before that and once the pumps own the transfer.
    var startup: StartupMachine?
    /// The cancel key this session recorded in the process-wide table (removed at the end).
    var cancelKey: CancelKey?
    private var timer: TimerID?

    var state: State = .waiting
    /// What the session last waited for (hold or queue), for the SQLSTATE of a refusal.
    var lastWait: StartupRefusal.Wait = .none
    /// The server address is counted among the live sessions of its cancel group.
    private var countedLive = false
    var clientReadable = false
    var clientWritable = false
    var clientHangup = false
    var serverReadable = false

    private var upstream: Pump

    var serverWritable = false
    var serverHangup = false
    private var downstream: Pump
    /// The start-up is followed but its machine is not made yet: nothing it must judge has happened
    /// (an idle connection stays so until the first-packet deadline, and carries no machine).
    var startupPending = false
    /// The server socket is still to get `tcp_keepalive` (``applyServerKeepalive()``).
    private var serverKeepalivePending = false

    private var clientRegistration: Registration?
    /// Which side sent its end of file first (for the end reason); nil until one did.
    private var serverClosedFirst: Bool?
    /// The session counts among its server's current sessions (`slot`'s place is taken).
    private var holdsSlot = false
    /// Pauses taken so far before trying the route's servers again (for the backoff).
    var pauses: UInt8 = 0
    private var serverRegistration: Registration?
    /// A static listener's first client bytes came while connecting, and their read was put off to
    /// the end of the loop's pass (``Session/startupStep()``); set once.
    var firstReadDeferred = false
    let clientFD: Int32
    var serverFD: Int32 = -1
    /// Connects started (a static listener spends at most `retries` + 1).
    var attempts: Int32 = 0
    /// The session's index in its worker's list of live sessions (-1 when not in it).
    var placeInWorker: Int32 = -1

    init(id: UInt64, worker: Worker, listener: ListenerRuntime, clientFD: Int32, peer: SocketAddress?) {
        self.id = id
        self.worker = worker
        self.listener = listener
        self.clientFD = clientFD
        self.peer = peer
        self.timeoutSettings = worker.timeoutSettings
        self.pools = worker.pools
        self.acceptedAt = worker.loop.now
        self.lastClientActivity = worker.loop.now
        self.lastServerActivity = worker.loop.now
        upstream = Pump(splice: worker.configuration.splice)
        downstream = Pump(splice: worker.configuration.splice)
    }

    /// Registers the client socket and starts sniffing the start-up. A static listener looks for a
    /// server at once (its clients may wait for the server to speak first); a cluster listener first
    /// reads the client's first packet (a CancelRequest must not be held or take a server slot).
    func start() {
        do {
            // The client socket inherited TCP_NODELAY and keepalive from the listening socket.
            clientRegistration = try worker.loop.register(
                clientFD, events: [.readable, .writable, .readHangup, .edgeTriggered], handler: self, token: Self.clientToken)
        } catch {
            end(.error("client socket: \(error)"))
            return
        }
        beginStartup()
    }

    // MARK: - Events

    func handleEvents(_ events: EpollEvents, token: UInt32) {
        if token == Self.clientToken {
            if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { clientReadable = true }
            if events.contains(.writable) { clientWritable = true }
            if !events.isDisjoint(with: [.readHangup, .hangup]) { clientHangup = true }
            switch state {
            case .waiting, .connecting, .refusing:
                clientEventBeforeServer(events)
                return
            case .cancelling, .closed:
                return
            case .established:
                break
            }
        } else {
            // Latch before anything else: with edge-triggered epoll, the event that completes a connect
            // may also be the only notice of the server's first bytes (and its FIN).
            if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { serverReadable = true }
            if events.contains(.writable) { serverWritable = true }
            if !events.isDisjoint(with: [.readHangup, .hangup]) { serverHangup = true }
            if state == .connecting {
                if !events.isDisjoint(with: [.writable, .error, .hangup]) {
                    // Writable with no error or hang-up means connected: no getsockopt(SO_ERROR) needed.
                    finishConnect(known: events.contains(.writable) && events.isDisjoint(with: [.error, .hangup]))
                }
                return
            }
        }
        if state == .established {
            if sniffing { startupStep() } else { pump() }
        }
    }

    /// While no server is connected, a client that hung up with nothing left to read has given up.
    /// (No client bytes wait in the upstream pump then: ``readFirstClientBytes()`` runs once connected.)
    func clientGaveUp(_ events: EpollEvents) -> Bool {
        if !events.isDisjoint(with: [.hangup, .error]) { return true }
        guard events.contains(.readHangup) else { return false }
        return PosixIOQuery.bytesReadable(clientFD) == 0
    }

    /// Reads a connected static listener's client's first bytes straight into the upstream pump.
    /// When the parser rules a PostgreSQL start-up out, they stay there for the pump to send, no
    /// start-up machine is made, and this returns nil: a connection per request through a static
    /// listener (HTTP, say) pays for neither the machine nor a copy of its bytes. Otherwise it returns
    /// what the read gave, the bytes taken out of the pump for the machine. Only once connected, so a
    /// pooled buffer is never held for a connect that may take seconds, and a session with no machine
    /// never waits.
    func readFirstClientBytes() -> ChunkRead? {
        let n: Int
        do {
            n = try upstream.readFirst(from: clientFD, readable: &clientReadable, hangup: clientHangup, pools: pools)
        } catch {
            return .failed(error)
        }
        if n < 0 { return .wouldBlock }
        if n == 0 { return .endOfFile }
        if case .notPostgres = upstream.withHeldBytes({ PostgresStartupParser.parse($0) }) {
            lastClientActivity = worker.loop.now
            return nil
        }
        return .data(upstream.takeHeld(pools: pools), short: n < pools.buffers.bufferSize)
    }

    // MARK: - Choosing a server

    /// Consults the listener's route and either connects, waits, or ends. `lastError` is why the
    /// previous connect failed, if it did (it goes into the reason should the wait time out).
    func pickServer(after lastError: String? = nil) {
        guard state == .waiting else { return }
        let route = listener.route
        switch route.state {
        case .hold(let reason):
            worker.waitingRoom.hold(self, reason: reason)
            return
        case .unavailable(let reason):
            end(.noBackend(reason))
            return
        case .ready:
            break
        }
        let choice = worker.slots.select(for: listener, excluding: triedServers)
        switch choice {
        case .server(let chosen):
            slot = chosen
            holdsSlot = true
            connect(to: chosen)
        case .allBusy:
            worker.waitingRoom.enqueue(self)
        case .exhausted:
            if triedServers.isEmpty {
                end(.noBackend("listener \(listener.name) has no server"))
            } else if listener.configuration.role != .static {
                // Every node of the route refused or reset the connect (a PostgreSQL restarting while
                // Patroni keeps its key): try again after a pause, or at once when the route changes,
                // within the hold timeout.
                let what = listener.configuration.role == .primary ? "leader unreachable" : "no replica reachable"
                retryAfterPause(reason: what + (lastError.map { " (\($0))" } ?? ""))
            } else {
                end(.connectFailed("no server reachable after \(attempts) attempt(s)"))
            }
        }
    }

    /// Holds the session (a route change resumes it at once) and tries every server of the route
    /// again after a pause that doubles from ``Session/replayBackoff`` up to ``Session/maximumRetryPause``.
    func retryAfterPause(reason: String) {
        triedServers.removeAll()
        if listener.configuration.role != .static {
            worker.waitingRoom.hold(self, reason: reason)
            guard state == .waiting else { return }
        }
        let exponent = UInt64(min(pauses, 5))
        pauses &+= 1
        let pause = min(Self.replayBackoff.nanoseconds << exponent, Self.maximumRetryPause.nanoseconds)
        retryAt = worker.loop.now &+ pause
        armTimer(retryAt)
    }

    /// Called by the worker when a route change or a freed slot may let a waiting session go on.
    func resume() {
        guard state == .waiting else { return }
        // waitDeadline stays: a session held, resumed and held again still ends at its first deadline.
        retryAt = 0
        pickServer()
    }

    /// The hold or queue wait ran out.
    func waitTimedOut() {
        guard state == .waiting else { return }
        end(.noBackend(waitReason))
    }

    private func connect(to slot: ServerSlot) {
        attempts += 1
        // Addresses left from an earlier server's name belong to that server, never to this one.
        untriedAddresses = []
        if let literal = slot.literalAddress {
            startConnect(to: literal)
            return
        }
        let chosen = slot.server
        // Strong, not weak: a weak reference gives every session a side table (32 bytes, kept for
        // its life). An answer that comes after the end holds the session only until then.
        worker.resolve(chosen.endpoint) { result in
            guard self.state == .waiting, self.server == chosen else { return }
            switch result {
            case .success(let addresses) where !addresses.isEmpty:
                // Every address of the name is tried in turn before the server counts as unreachable.
                self.untriedAddresses = Array(addresses.dropFirst())
                self.startConnect(to: addresses[0])
            case .success:
                self.connectFailed(IOErrorDescription("\(chosen.endpoint.host): no address"))
            case .failure(let error):
                self.connectFailed(IOErrorDescription(error.description))
            }
        }
    }

    private func startConnect(to address: SocketAddress) {
        serverAddress = address
        serverReadable = false
        serverWritable = false
        serverHangup = false
        do {
            serverFD = try Socket.makeTCP(family: address.family)
            try configureSocket(serverFD)
            state = .connecting
            connectDeadline = worker.loop.now &+ timeoutSettings.connect
            serverRegistration = try worker.loop.register(
                serverFD, events: [.readable, .writable, .readHangup, .edgeTriggered], handler: self, token: Self.serverToken)
            armTimer(connectDeadline)
            switch try Socket.connect(serverFD, to: address) {
            case .connected: finishConnect()
            case .inProgress: break
            }
        } catch {
            if error.isDescriptorExhaustion {
                closeServerSocket()
                end(.error("cannot open a server socket: \(error)"))
            } else {
                connectFailed(IOErrorDescription(error.description))
            }
        }
    }

    private func finishConnect(known connected: Bool = false) {
        guard state == .connecting else { return }
        if !connected, let error = Socket.pendingError(serverFD) {
            connectFailed(IOErrorDescription(error.description))
            return
        }
        state = .established
        untriedAddresses = []
        if lastWait == .hold && waitDeadline != 0 { worker.waitEnded(self, kind: .connected) }
        // A later hold (a replay after a 57P03) gets a deadline of its own, not a queue wait's.
        waitDeadline = 0
        connectedAt = worker.loop.now
        lastServerActivity = connectedAt
        lastClientActivity = connectedAt
        serverWritable = true
        // Bytes the client sent while we connected, and the server's first bytes, were latched by their
        // events already: forcing the latches would cost a read that only says EAGAIN.
        worker.connected(self)
        if let serverAddress {
            worker.cancelTable.serverConnected(group: listener.cancelGroup, address: serverAddress)
            countedLive = true
        }
        armTimer(establishedDeadline())
        if sniffing { startupConnected() } else { pump() }
    }

    func connectFailed(_ error: IOErrorDescription) {
        closeServerSocket()
        if let server, !untriedAddresses.isEmpty {
            worker.connectFailed(self, server: server, error: error.text)
            state = .waiting
            startConnect(to: untriedAddresses.removeFirst())
            return
        }
        untriedAddresses = []
        if let server {
            worker.connectFailed(self, server: server, error: error.text)
            triedServers.insert(server.name)
            worker.forgetAddress(server.endpoint)
        }
        dropServer()
        state = .waiting
        // Static listeners spend `retries` connects; cluster listeners the hold timeout (pickServer).
        if Int(attempts) > listener.configuration.retries && listener.configuration.role == .static {
            end(.connectFailed(error.text))
            return
        }
        pickServer(after: error.text)
    }

    // MARK: - Transfer

    /// The client speaks plain PostgreSQL: its Terminate puts off the half-close toward the server
    /// (``Pump/watchForTerminate()``).
    func watchClientForTerminate() { upstream.watchForTerminate() }

    func pump() {
        guard state == .established else { return }
        let pools = self.pools
        let now = worker.loop.now
        let writtenUp = upstream.bytesTransferred
        let writtenDown = downstream.bytesTransferred
        do {
            let up = try upstream.transfer(
                from: clientFD, to: serverFD, readable: &clientReadable, writable: &serverWritable,
                hangup: clientHangup, otherFinished: downstream.finished, pools: pools, now: now)
            // A client half-close put off after its Terminate (Pump.awaitsPeerClose) ends with the
            // server's end of file: the session then closes both, so the client needs no half-close.
            let down = try downstream.transfer(
                from: serverFD, to: clientFD, readable: &serverReadable, writable: &clientWritable,
                hangup: serverHangup, otherFinished: upstream.finished || upstream.awaitsPeerClose, pools: pools, now: now)
            if up.read > 0 { lastClientActivity = now }
            if down.read > 0 { lastServerActivity = now }
            if up.written > 0 || down.written > 0 { worker.countBytes(self, toServer: up.written, toClient: down.written) }
            if serverClosedFirst == nil {
                if upstream.sourceClosed { serverClosedFirst = false } else if downstream.sourceClosed { serverClosedFirst = true }
            }
            if upstream.awaitsPeerClose {
                if downstream.finished {
                    upstream.finishWaitForPeer(shuttingDown: nil)
                } else {
                    armTimer(establishedDeadline())  // which includes the wait's end
                }
            }
            if upstream.finished && downstream.finished {
                end(serverClosedFirst == true ? .serverClosed : .clientClosed)
                return
            }
            if up.yielded || down.yielded {
                // Strong (no side table, see connect(to:)); pump() does nothing once ended.
                worker.loop.executeSoon { self.pump() }
            }
        } catch {
            // A transfer that fails may have written bytes first (a reset right behind the last
            // reply): they reached the peer, so they count, in the totals and the ledger alike.
            let toServer = Int(upstream.bytesTransferred &- writtenUp)
            let toClient = Int(downstream.bytesTransferred &- writtenDown)
            if toServer > 0 || toClient > 0 { worker.countBytes(self, toServer: toServer, toClient: toClient) }
            end(.error(error.description))
        }
    }

    // MARK: - Timers

    func idleDeadline() -> UInt64 {
        min(lastClientActivity &+ timeoutSettings.clientIdle, lastServerActivity &+ timeoutSettings.serverIdle)
    }

    /// Makes sure the session's single timer fires no later than `deadline`.
    func armTimer(_ deadline: UInt64) {
        // An ended session has nothing left to time (and its timer must not outlive it: unowned).
        if state == .closed { return }
        if timer != nil && timerDeadline <= deadline { return }
        if let timer { worker.loop.cancel(timer) }
        timerDeadline = deadline
        // unowned, not weak (no side table, see connect(to:)): end() cancels the timer before the
        // worker lets the session go, so it never fires for a freed one.
        timer = worker.loop.schedule(atNanoseconds: deadline) { [unowned self] in self.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerDeadline = .max
        let now = worker.loop.now
        if sniffing {
            // First-packet, answer and refusal deadlines are the machine's.
            startupTimerFired()
        }
        switch state {
        case .closed, .cancelling, .refusing:
            return
        case .waiting:
            if waitDeadline != 0 && now >= waitDeadline {
                waitTimedOut()
                return
            }
            if retryAt != 0 {
                if now >= retryAt {
                    retryAt = 0
                    worker.waitingRoom.leave(self)
                    pickServer()
                    return
                }
                armTimer(retryAt)
            }
            if waitDeadline != 0 {
                if now >= waitDeadline { waitTimedOut() } else { armTimer(waitDeadline) }
            }
        case .connecting:
            if now >= connectDeadline {
                connectFailed(IOErrorDescription("connect to \(serverAddress.map { "\($0)" } ?? "?") timed out after \(timeouts.connect)"))
            } else {
                armTimer(connectDeadline)
            }
        case .established:
            if now >= lastClientActivity &+ timeoutSettings.clientIdle {
                end(.clientIdleTimeout)
            } else if now >= lastServerActivity &+ timeoutSettings.serverIdle {
                end(.serverIdleTimeout)
            } else {
                if serverKeepalivePending && now >= connectedAt &+ Self.serverKeepaliveDelay { applyServerKeepalive() }
                if upstream.awaitsPeerClose && now >= lastClientActivity &+ Self.peerCloseWait {
                    // The server kept the connection open after the Terminate: half-close it as usual.
                    upstream.finishWaitForPeer(shuttingDown: serverFD)
                }
                armTimer(establishedDeadline())
            }
        }
    }

    // MARK: - Ending

    /// Ends the session: deregisters and closes both sockets, returns buffers and pipes, updates
    /// counters, logs one line. Idempotent.
    ///
    /// A session that gets no server (`noBackend`, `connectFailed`) and whose client speaks (or may
    /// speak) PostgreSQL is not closed at once: it answers the client with an ErrorResponse first
    /// (``beginRefusal(_:)``), then ends with the same reason.
    func end(_ reason: SessionEnd) {
        guard state != .closed else { return }
        if state == .waiting, startupMayRefuse, beginRefusal(reason) { return }
        if state == .established, abandonStartup(reason) { return }
        let wasEstablished = state == .established
        state = .closed
        startup = nil
        startupPending = false
        if let cancelKey { worker.cancelTable.remove(cancelKey, session: id) }
        if let timer { worker.loop.cancel(timer) }
        timer = nil
        // close() drops the socket from epoll (we never dup it): only the slot needs freeing.
        if let clientRegistration { worker.loop.forget(clientRegistration) }
        clientRegistration = nil
        Socket.close(clientFD)
        if case .routeChanged = reason { closeServerSocket(abort: true) } else { closeServerSocket() }
        upstream.releaseAll(pools: pools)
        downstream.releaseAll(pools: pools)
        releaseSlot()
        worker.sessionEnded(self, reason: reason, wasEstablished: wasEstablished)
    }

    /// A route change or an operator takes the node of a session whose start-up it had bound there
    /// (authentication begun): while the start-up is followed between two of the node's messages,
    /// the node's connection goes at once (RST after a route change) and the client reads a FATAL
    /// ErrorResponse saying why, then the session ends with `reason`. False when that cannot be (the
    /// caller closes as usual: the pumps own the bytes, or the client is mid-message).
    private func abandonStartup(_ reason: SessionEnd) -> Bool {
        guard let machine = startup, machine.mayAnswerClient,
              let refusal = StartupRefusal(end: reason, listener: listener.name, cluster: clusterName, lastWait: .none)
        else { return false }
        if case .routeChanged = reason { closeServerSocket(abort: true) } else { closeServerSocket() }
        releaseSlot()
        state = .refusing
        guard feed(.abandon(reason, errorResponse: refusal.errorResponse)) else { return true }
        startupStep()
        return true
    }

    /// Gives back the server's place (its `server_maxconn` count); the server stays named (logs).
    private func releaseSlot() {
        if holdsSlot { slot?.shared.release() }
        holdsSlot = false
    }

    /// Gives back the server's place and forgets the server.
    func dropServer() {
        releaseSlot()
        slot = nil
    }

    /// Closes the server socket: with an RST when `abort` is set (a demoted node must not keep our
    /// half-open connection).
    func closeServerSocket(abort: Bool = false) {
        if countedLive, let serverAddress {
            worker.cancelTable.serverDisconnected(group: listener.cancelGroup, address: serverAddress)
            countedLive = false
        }
        guard serverFD >= 0 else { return }
        if let serverRegistration { worker.loop.forget(serverRegistration) }
        serverRegistration = nil
        if abort { Socket.setLingerZero(serverFD) }
        Socket.close(serverFD)
        serverFD = -1
    }

    private func configureSocket(_ fd: Int32) throws(IOError) {
        try Socket.setNoDelay(fd)
        serverKeepalivePending = timeoutSettings.serverKeepalive != nil
    }

    /// How long an established session lives before its server socket may get `tcp_keepalive`: a
    /// connection per request (most end within milliseconds) then never makes the four setsockopt
    /// calls (BENCHMARKS.md has the measurement). The keepalive is set when the session's timer
    /// next fires after this, and by TCP_KEEPIDLE after the connect at the latest
    /// (``TimeoutSettings/serverKeepaliveLatest``), so the start-up's first-packet timer usually
    /// serves and no timer is re-armed for it. Probes come no later: setting TCP_KEEPIDLE on a
    /// socket with SO_KEEPALIVE on makes Linux count the idle time from the last segment received,
    /// not from the call (tcp_sock_set_keepidle).
    static let serverKeepaliveDelay: UInt64 = 1_000_000_000

    /// How long after a client's Terminate (its last bytes) the half-close toward the server may be
    /// put off while the server is expected to close first (``Pump/awaitsPeerClose``). PostgreSQL
    /// closes within milliseconds; a server busy with an earlier query gets the half-close as before.
    static let peerCloseWait: UInt64 = 1_000_000_000

    /// The established session's next deadline: its idle timeouts, the pending keepalive's latest
    /// moment, or the end of a put-off half-close, whichever is soonest.
    private func establishedDeadline() -> UInt64 {
        var deadline = idleDeadline()
        if serverKeepalivePending { deadline = min(deadline, connectedAt &+ timeoutSettings.serverKeepaliveLatest) }
        if upstream.awaitsPeerClose { deadline = min(deadline, lastClientActivity &+ Self.peerCloseWait) }
        return deadline
    }

    /// Sets the session's keepalive (that of the configuration it started under) on the server
    /// socket, SO_KEEPALIVE before TCP_KEEPIDLE (see ``serverKeepaliveDelay``).
    private func applyServerKeepalive() {
        serverKeepalivePending = false
        guard serverFD >= 0, let keepalive = timeoutSettings.serverKeepalive else { return }
        do {
            try Socket.setKeepalive(serverFD, idle: keepalive.idle, interval: keepalive.interval, count: keepalive.count)
        } catch {
            // The session still works without probes; its next read or write reports a dead socket.
            worker.logger.warning(
                "session \(label): cannot set keepalive on the server socket: \(error)", metadata: ["listener": "\(listener.name)"])
        }
    }

    // MARK: - Reporting

    /// `loop-number` (e.g. `1-42`): unique in the process, readable in logs.
    var label: String { "\(id >> 56)-\(id & 0x00FF_FFFF_FFFF_FFFF)" }

    /// Counts start-up bytes relayed before the pumps took over (listener, server and session totals).
    func countStartupBytes(toServer: Int, toClient: Int) {
        upstream.countTransferred(toServer)
        downstream.countTransferred(toClient)
        worker.countBytes(self, toServer: toServer, toClient: toClient)
    }

    /// Bytes client → server so far.
    var bytesToServer: UInt64 { upstream.bytesTransferred }
    /// Bytes server → client so far.
    var bytesToClient: UInt64 { downstream.bytesTransferred }
    /// Monotonic time the server connection was established (0 if never).
    var establishedAt: UInt64 { connectedAt }
}

/// A connect error's text (a small wrapper so failures from resolution and sockets read alike).
struct IOErrorDescription {
    let text: String
    init(_ text: String) { self.text = text }
}
