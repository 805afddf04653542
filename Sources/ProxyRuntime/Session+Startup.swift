import PosixIO
import SwitchmanCore

/// PostgreSQL-aware connection start, the I/O half: ``StartupMachine`` (SwitchmanCore) decides,
/// this extension performs. The session reads the client's first packets and the node's first
/// answers itself (small reads and writes), feeds what it read to the machine, writes the bytes the
/// machine keeps for each side, and does what it asks (choose a server, replay on the next node,
/// refuse, record a cancel key, forward a CancelRequest, hand the sockets to the pumps, close).
/// The pumps never see the difference. (A connected static listener's first client bytes that are
/// no PostgreSQL start-up skip the machine: ``Session/readFirstClientBytes()``.)
///
/// The rules themselves (when a server is chosen, what is held, what is replayed, how a client is
/// refused) are the machine's; see its documentation. What stays here is the budget of a replay
/// (``replayBudgetLeft()``: the hold timeout for cluster listeners, `retries` connects for static
/// ones), the choice of the next node, and the socket work.
extension Session {
    /// First pause before a start-up is replayed, or a connect retried, on a node already tried.
    static let replayBackoff: Duration = .milliseconds(50)
    /// Longest pause between two rounds of retries (so a node that accepts again is found within it).
    static let maximumRetryPause: Duration = .milliseconds(500)
    /// Largest chunk read in one call while the machine follows the start-up.
    static let startupReadChunk = 16 * 1024

    /// Starts following the start-up, without making the machine yet (``wakeStartup()`` does, when
    /// the first event it must judge arrives): a static listener also starts choosing a server (its
    /// clients may wait for the server to speak first), a cluster listener waits for the client's
    /// first packet.
    func beginStartup() {
        startupPending = true
        perform(StartupMachine.firstActions(now: acceptedAt, choosesServerAtOnce: choosesServerAtOnce))
    }

    /// The start-up is being followed: by its machine, or by the promise of one (``startupPending``).
    var sniffing: Bool { startup != nil || startupPending }

    /// Whether the client may still be refused with an ErrorResponse (see ``StartupMachine/mayRefuse``;
    /// a machine not made yet has seen nothing that rules it out).
    var startupMayRefuse: Bool { startup?.mayRefuse ?? startupPending }

    private var choosesServerAtOnce: Bool { listener.configuration.role == .static }

    // MARK: - Driving the machine

    /// The start-up machine, made now if it was pending: as made at accept (``acceptedAt`` is the
    /// `now` ``beginStartup()`` used), told of the node connected since, if any. Until this call it
    /// has missed nothing (``StartupMachine``: only bytes, ends, failures, hang-ups and refusals
    /// change it, and every one of those comes through here). nil when the start-up is over, or
    /// when telling it of the node moved the session on.
    @discardableResult
    func wakeStartup() -> StartupMachine? {
        if let startup { return startup }
        guard startupPending else { return nil }
        startupPending = false
        let tagsClientAddress = listener.configuration.clientAddress == .application_name
        let machine = StartupMachine(
            now: acceptedAt, choosesServerAtOnce: choosesServerAtOnce, answerTimeout: timeoutSettings.startupAnswer,
            clientAddressTag: tagsClientAddress ? peer?.description : nil)
        startup = machine
        if state == .established {
            guard perform(machine.handle(.connected, now: worker.loop.now, canReplay: replayBudgetLeft())) else { return nil }
        }
        return machine
    }

    /// Feeds one event to the machine (made first if pending) and performs what it asks. Returns false
    /// when the caller must stop: the session moved on (another node, a cancel, the pumps, its end)
    /// or has no start-up to follow.
    @discardableResult
    func feed(_ event: StartupMachine.Event) -> Bool {
        guard let machine = wakeStartup() else { return false }
        return perform(machine.handle(event, now: worker.loop.now, canReplay: replayBudgetLeft()))
    }

    /// Performs the machine's actions in order. Returns false once one of them moved the session on.
    @discardableResult
    private func perform(_ actions: [StartupMachine.Action]) -> Bool {
        for action in actions {
            switch action {
            case .armTimer(let deadline):
                armTimer(deadline)
            case .chooseServer:
                // Whatever the choice led to (a hold, a connect, a refusal) already drove the machine.
                pickServer()
                return false
            case .replay(let failure):
                replayStartup(describe(failure))
                return false
            case .giveUp(let failure):
                let reason = describe(failure)
                detachFromNode()
                end(.noBackend(reason))
                return false
            case .recordCancelKey(let key):
                recordCancelKey(key)
            case .forwardCancel(let key, let packet):
                beginCancel(key, packet: packet)
                return false
            case .handOff:
                if let tagged = startup?.applicationNameTagged {
                    if tagged { listener.counters.clientAddressTagged += 1 } else { listener.counters.clientAddressUntaggedEncrypted += 1 }
                }
                // A plain PostgreSQL client's Terminate lets its server close first (Pump.watchForTerminate).
                if startup?.clientSpeaksPlainPostgres == true { watchClientForTerminate() }
                startup = nil
                startupPending = false
                pump()
                return false
            case .close(let reason):
                end(reason)
                return false
            }
        }
        return sniffing
    }

    /// The end reason's words for a node lost during the start-up.
    private func describe(_ failure: StartupMachine.NodeFailure) -> String {
        let name = server?.name ?? "server"
        switch failure {
        case .cannotConnectNow(let message): return "\(name) answered 57P03: \(message)"
        case .closedBeforeAnswering: return "\(name) closed the connection before answering"
        case .failed(let error): return "\(name): \(error)"
        case .noAnswer: return "\(name) did not answer the start-up within \(timeouts.startupAnswer.humanReadable)"
        }
    }

    // MARK: - Events

    /// A client event while waiting, connecting or refusing.
    func clientEventBeforeServer(_ events: EpollEvents) {
        guard sniffing else {
            if clientGaveUp(events) { end(.clientClosed) }
            return
        }
        if !events.isDisjoint(with: [.hangup, .error]) {
            feed(.clientHungUp)
            return
        }
        if readsClient {
            startupStep()
        } else if events.contains(.readHangup) && PosixIOQuery.bytesReadable(clientFD) == 0 {
            // A hang-up with nothing left to read, while no packet is expected.
            guard feed(.clientEndOfFile) else { return }
        }
        if state == .refusing && sniffing { startupStep() }
    }

    /// ``StartupMachine/readsClient``; a machine not made yet reads the first packet.
    private var readsClient: Bool { startup?.readsClient ?? startupPending }

    /// ``StartupMachine/readsServer``; a machine not made yet reads a connected node (one that
    /// speaks first is no PostgreSQL server).
    private var readsServer: Bool { startup?.readsServer ?? (startupPending && state == .established) }

    /// The session's timer fired while the machine is alive (first-packet, answer or refusal deadline).
    func startupTimerFired() {
        if startup == nil && startupPending {
            // Before the first-packet deadline the machine would only ask for the timer again.
            let deadline = StartupMachine.firstPacketDeadline(madeAt: acceptedAt)
            if worker.loop.now < deadline {
                armTimer(deadline)
                if state == .established { startupStep() }
                return
            }
        }
        guard feed(.timer) else { return }
        if state == .established { startupStep() }
    }

    /// The server connection is up: send what the client asked for and follow the answer.
    func startupConnected() {
        // A machine not made yet learns of the node when it is made (wakeStartup).
        if startup != nil {
            guard feed(.connected) else { return }
        }
        startupStep()
    }

    /// Moves start-up bytes both ways until nothing more can be done now. Established: both sides;
    /// refusing: the client only; waiting or connecting: the client's packets only (the machine
    /// says what it reads, and holds nothing to write then).
    func startupStep() {
        var progressed = true
        while progressed {
            guard sniffing, state != .closed, state != .cancelling else { return }
            progressed = false
            let established = state == .established

            // 1. Bytes for the server (a machine not made yet holds none, for either side).
            if let machine = startup, established && !machine.bytesForServer.isEmpty && serverWritable {
                let forServer = machine.bytesForServer.count
                switch Self.writeStart(serverFD, machine.bytesForServer, count: forServer) {
                case .success(let n):
                    if n < forServer { serverWritable = false }
                    if n > 0 {
                        countStartupBytes(toServer: n, toClient: 0)
                        progressed = true
                        guard feed(.sentToServer(n)) else { return }
                    }
                case .failure(let error):
                    feed(.serverFailed("\(error)"))
                    return
                }
            }

            // 2. Bytes for the client (not the held ones).
            if let machine = startup, (established || state == .refusing) && machine.flushableToClient > 0 && clientWritable {
                let flushable = machine.flushableToClient
                switch Self.writeStart(clientFD, machine.bytesForClient, count: flushable) {
                case .success(let n):
                    if n < flushable { clientWritable = false }
                    if n > 0 {
                        if established { countStartupBytes(toServer: 0, toClient: n) }
                        progressed = true
                        guard feed(.sentToClient(n)) else { return }
                    }
                case .failure(let error):
                    feed(.clientFailed("\(error)"))
                    return
                }
            }

            // 3. Bytes from the server, one chunk at a time once the client took the last one.
            if readsServer && serverReadable {
                switch Self.readChunk(serverFD, max: Self.startupReadChunk) {
                case .wouldBlock:
                    serverReadable = false
                case .failed(let error):
                    feed(.serverFailed("\(error)"))
                    return
                case .endOfFile:
                    progressed = true
                    guard feed(.serverEndOfFile) else { return }
                case .data(let bytes, let short):
                    if short && !serverHangup { serverReadable = false }
                    lastServerActivity = worker.loop.now
                    progressed = true
                    guard feed(.serverBytes(bytes)) else { return }
                }
            }

            // 4. Bytes from the client: a start-up packet, or the authentication exchange.
            if readsClient && clientReadable {
                let read: ChunkRead?
                if startup == nil && choosesServerAtOnce && state == .established {
                    // The machine is not made yet: the first bytes go into the upstream pump and are judged there.
                    guard let forMachine = readFirstClientBytes() else {
                        // No PostgreSQL start-up: forwarded untouched, sniffing over (the machine would
                        // have gone blind the same way).
                        startupPending = false
                        pump()
                        return
                    }
                    read = forMachine
                } else if startup == nil && choosesServerAtOnce && state == .connecting && !firstReadDeferred && !clientHangup {
                    // The connect's completion is usually in the same batch of events, after this one: read
                    // at the end of the pass, into the pump if connected by then, else as below.
                    firstReadDeferred = true
                    // Strong (no side table, see connect(to:)); startupStep() does nothing once ended.
                    worker.loop.executeSoon { self.startupStep() }
                    read = nil
                } else {
                    read = Self.readChunk(clientFD, max: Self.startupReadChunk)
                }
                if let read {
                    switch read {
                    case .wouldBlock:
                        clientReadable = false
                    case .failed(let error):
                        feed(.clientFailed("\(error)"))
                        return
                    case .endOfFile:
                        progressed = true
                        guard feed(.clientEndOfFile) else { return }
                    case .data(let bytes, let short):
                        if short && !clientHangup { clientReadable = false }
                        lastClientActivity = worker.loop.now
                        progressed = true
                        guard feed(.clientBytes(bytes)) else { return }
                    }
                }
            }
        }
    }

    // MARK: - Replay

    /// Whether the session's budget allows the start-up on another node: the hold timeout for
    /// cluster listeners, `retries` connects for static ones. (The machine asks only when nothing
    /// binds the session to its node yet.)
    func replayBudgetLeft() -> Bool {
        if listener.configuration.role == .static { return Int(attempts) <= listener.configuration.retries }
        let holdTimeout = worker.configuration.cluster?.holdTimeout ?? .seconds(30)
        return worker.loop.now < acceptedAt &+ holdTimeout.nanoseconds
    }

    /// Drops the node's connection and everything it said, and starts the start-up again on the
    /// next eligible node (or, when none is left untried, on the same ones after a short pause).
    func replayStartup(_ reason: String) {
        guard sniffing, let server else { return }
        worker.startupReplayed(self, server: server, reason: reason)
        triedServers.insert(server.name)
        detachFromNode()
        let route = listener.route
        if route.state == .ready && route.servers.contains(where: { !triedServers.contains($0.name) }) {
            pickServer()
            return
        }
        retryAfterPause(reason: "\(reason); no other node")
    }

    /// Gives up the current node of a session that nothing commits to it yet (connecting, or its
    /// start-up unanswered): its socket closes, what it said is dropped, and the start-up is set to
    /// be sent again to the next node. The session is left waiting, with no server.
    func detachFromNode() {
        closeServerSocket(abort: state == .established)
        dropServer()
        untriedAddresses = []
        state = .waiting
        // A connect that did not complete sent nothing: the machine, having no node, ignores this.
        // A machine not made yet has nothing of the node to drop (and is made without it).
        if startup != nil { feed(.detached) }
    }

    /// Whether a route change may send this session to the new route instead of closing it: it is
    /// connecting, or its start-up has not been answered by the node (nothing commits it to it).
    var movableOnRouteChange: Bool {
        switch state {
        case .connecting:
            return true
        case .waiting:
            // Chosen, its name being looked up: nothing was sent anywhere yet.
            return server != nil
        case .established:
            return startup?.mayMoveToAnotherNode ?? startupPending
        default:
            return false
        }
    }

    /// A route change took this session's node away before anything bound the session to it: it
    /// follows the route (connects to the new node, or waits in the hold) instead of being closed.
    func followRouteChange() {
        detachFromNode()
        triedServers.removeAll()
        retryAt = 0
        pickServer()
    }

    // MARK: - Cancel requests

    /// The connection carries a CancelRequest: forget any server, forward it, close when done.
    func beginCancel(_ key: CancelKey, packet: [UInt8]) {
        closeServerSocket()
        dropServer()
        worker.waitingRoom.leave(self)
        retryAt = 0
        state = .cancelling
        startup = nil
        startupPending = false
        worker.cancelRouter.forward(for: self, key: key, packet: packet)
    }

    /// Records the node's BackendKeyData so a CancelRequest for it goes to this node only.
    private func recordCancelKey(_ key: CancelKey) {
        guard let serverAddress, let server else { return }
        if let previous = cancelKey { worker.cancelTable.remove(previous, session: id) }
        cancelKey = nil
        if worker.cancelTable.insert(key, .init(address: serverAddress, server: server.name, session: id)) {
            cancelKey = key
        }
    }

    // MARK: - Refusal

    /// Starts answering the client with an ErrorResponse for `reason` (the machine answers a
    /// pending encryption request `N`, reads the StartupMessage, sends the error, then closes).
    /// Returns false when `reason` is no refusal (the caller then closes as usual).
    func beginRefusal(_ reason: SessionEnd) -> Bool {
        guard sniffing,
              let refusal = StartupRefusal(
                end: reason, listener: listener.name, cluster: clusterName, lastWait: lastWait)
        else { return false }
        state = .refusing
        worker.waitingRoom.leave(self)
        retryAt = 0
        guard feed(.refuse(reason, errorResponse: refusal.errorResponse)) else { return true }
        startupStep()
        return true
    }

    /// The cluster's scope for a cluster listener's messages.
    var clusterName: String? {
        listener.configuration.role == .static ? nil : worker.configuration.cluster?.scope
    }

    // MARK: - Small I/O

    /// What one read during the start-up gave.
    enum ChunkRead {
        /// Bytes; `short` when fewer than asked (the socket is drained unless it hung up).
        case data([UInt8], short: Bool)
        case wouldBlock
        case endOfFile
        case failed(IOError)
    }

    /// One read of at most `max` bytes.
    static func readChunk(_ fd: Int32, max: Int) -> ChunkRead {
        withUnsafeTemporaryAllocation(byteCount: max, alignment: 16) { buffer -> ChunkRead in
            do throws(IOError) {
                // The temporary allocation has a base address: its size is never 0.
                switch try Socket.read(fd, into: buffer.baseAddress!, count: max) {
                case .wouldBlock: return .wouldBlock
                case .processed(0): return .endOfFile
                case .processed(let n): return .data(Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n])), short: n < max)
                }
            } catch {
                return .failed(error)
            }
        }
    }

    /// Writes the first `count` bytes of `bytes` once. `.success(0)`: would block.
    static func writeStart(_ fd: Int32, _ bytes: [UInt8], count: Int) -> Result<Int, IOError> {
        bytes.withUnsafeBytes { buffer -> Result<Int, IOError> in
            do throws(IOError) {
                // Non-empty here (callers check), so the base address exists.
                switch try Socket.write(fd, from: buffer.baseAddress!, count: count) {
                case .wouldBlock: return .success(0)
                case .processed(let n): return .success(n)
                }
            } catch {
                return .failure(error)
            }
        }
    }
}
