import PosixIO
import SwitchmanCore

/// PostgreSQL-aware connection start: the session reads the client's first packets and the node's
/// first answers itself (small reads and writes through `StartupState`), then hands the sockets to
/// the pumps, which never see the difference.
///
/// Rules:
/// - **When a server is chosen.** A static listener chooses at accept, as a plain TCP proxy does
///   (some protocols wait for the server to speak first); the client's bytes are sniffed as they
///   arrive and kept until they are classified. A cluster listener (`primary`, `replica`) first
///   reads the client's first packet, so a CancelRequest is never held or given a server slot.
///   A client that sends no complete first packet within ``Session/startupWait`` gets no sniffing
///   (its bytes are forwarded blindly once a server is connected).
/// - **Not PostgreSQL.** A first packet the parser rejects (usually within its first bytes), or a
///   server that speaks before the client: forwarded untouched, sniffing over.
/// - **SSLRequest / GSSENCRequest.** Sent to the node, whose one-byte answer goes back. After `S`/`G`
///   the session is encrypted end to end: sniffing is over.
/// - **StartupMessage.** Sent to the node and kept. The node's answer is held until an
///   authentication request (forwarded; the session now belongs to this node), or an ErrorResponse:
///   57P03 (starting up, shutting down) closes that connection and replays the start-up to the
///   next eligible node, within `cluster.hold_timeout` (cluster listeners) or `retries` attempts
///   (static listeners); any other error is forwarded. A node that closes before answering counts
///   as a 57P03.
/// - **Cancel keys.** A plaintext session is observed until BackendKeyData, recorded in the
///   process-wide ``CancelTable``, or ReadyForQuery.
/// - **No server** (the route is unavailable, the hold timed out or is full, the queue is full, no
///   server could be reached): a pending SSLRequest/GSSENCRequest is answered `N`, the StartupMessage
///   is read, and a FATAL ErrorResponse (``StartupRefusal``) is sent before the close. A client that
///   sends nothing within ``Session/refusalGrace`` is closed without a word.
extension Session {
    /// How long a client may take over its first complete packet before sniffing gives up.
    static let startupWait: Duration = .seconds(10)
    /// How long a refused client has to send its StartupMessage (to receive the error) before the close.
    static let refusalGrace: Duration = .seconds(2)
    /// First pause before a start-up is replayed, or a connect retried, on a node already tried.
    static let replayBackoff: Duration = .milliseconds(50)
    /// Longest pause between two rounds of retries (so a node that accepts again is found within it).
    static let maximumRetryPause: Duration = .milliseconds(500)

    /// Starts sniffing; a static listener also starts choosing a server.
    func beginStartup() {
        let startup = StartupState(deadline: worker.loop.now &+ Self.startupWait.nanoseconds)
        self.startup = startup
        armTimer(startup.deadline)
        if listener.configuration.role == .static {
            startup.serverWanted = true
            pickServer()
        }
    }

    // MARK: - Before a server is connected

    /// A client event while waiting, connecting or refusing.
    func clientEventBeforeServer(_ events: EpollEvents) {
        guard let startup else {
            if clientGaveUp(events) { end(.clientClosed) }
            return
        }
        if !events.isDisjoint(with: [.hangup, .error]) {
            if state == .refusing { finishRefusal() } else { end(.clientClosed) }
            return
        }
        if startup.clientPhase == .readingPacket {
            readClientPackets()
        } else if events.contains(.readHangup) && PosixIOQuery.bytesReadable(clientFD) == 0
                    && !(startup.clientPhase == .blind && !startup.toServer.isEmpty) {
            // A client waiting for its server hung up with nothing left to read: it gave up. (Blind
            // bytes already read still go to the server; the pumps then see the end of file.)
            if state == .refusing { finishRefusal() } else { end(.clientClosed) }
            return
        }
        if state == .refusing { advanceRefusal() }
    }

    /// Reads client bytes while a start-up packet is expected, and acts on each complete packet.
    func readClientPackets() {
        guard let startup else { return }
        while clientReadable && startup.clientPhase == .readingPacket && self.startup === startup {
            switch Self.readChunk(clientFD, max: StartupState.readChunk) {
            case .wouldBlock:
                clientReadable = false
            case .failed(let error):
                if state == .refusing { finishRefusal() } else { end(.error("client: \(error)")) }
                return
            case .endOfFile:
                if startup.clientInput.isEmpty {
                    if state == .refusing { finishRefusal() } else { end(.clientClosed) }
                    return
                }
                // A partial packet and then the end: not a start-up we understand. What came goes to
                // the server, and the pumps read the end of file again (the latch stays set).
                startup.goBlind()
                wantServer()
                return
            case .data(let bytes, let short):
                if short && !clientHangup { clientReadable = false }
                lastClientActivity = worker.loop.now
                startup.clientInput.append(contentsOf: bytes)
                processClientInput()
            }
        }
    }

    /// Classifies the packets in `clientInput` while the client is expected to send one.
    func processClientInput() {
        guard let startup else { return }
        while startup.clientPhase == .readingPacket && !startup.clientInput.isEmpty && self.startup === startup {
            switch PostgresStartupParser.parse(startup.clientInput) {
            case .needMore:
                return
            case .notPostgres:
                startup.goBlind()
                wantServer()
                return
            case .packet(let packet, let consumed):
                let bytes = Array(startup.clientInput[0..<consumed])
                startup.clientInput.removeFirst(consumed)
                let first = startup.packetsSeen == 0
                startup.packetsSeen += 1
                switch packet {
                case .sslRequest, .gssEncRequest:
                    startup.clientPhase = .awaitingAnswer(packet == .sslRequest ? .ssl : .gss)
                    startup.pendingEncryption = bytes
                    startup.unsent = true
                case .cancelRequest(let key) where first:
                    beginCancel(key, packet: bytes)
                    return
                case .cancelRequest, .startup:
                    // Whatever the client sent past its StartupMessage travels (and replays) with it.
                    startup.replay = bytes + startup.clientInput
                    startup.clientInput = []
                    startup.clientPhase = .forwarding
                    startup.unsent = true
                }
                wantServer()
            }
        }
    }

    /// A cluster listener's session starts choosing its server once the first packet is known.
    private func wantServer() {
        guard state == .waiting, let startup, !startup.serverWanted else { return }
        startup.serverWanted = true
        pickServer()
    }

    /// The sniffing deadline: a client that has not completed its first packet goes blind.
    func startupTimerFired(now: UInt64) {
        guard let startup, state != .refusing else { return }
        if state == .established && startup.waitingForNode && startup.answerDeadline != 0 {
            if now >= startup.answerDeadline {
                nodeDidNotAnswer()
                return
            }
            armTimer(startup.answerDeadline)
        }
        guard startup.awaitingFirstPacket else { return }
        if now < startup.deadline {
            armTimer(startup.deadline)
            return
        }
        startup.goBlind()
        switch state {
        case .waiting: wantServer()
        case .established: startupStep()
        default: break
        }
    }

    // MARK: - Connected

    /// The server connection is up: send what the client asked for and follow the answer.
    func startupConnected() {
        guard let startup else { return }
        startup.serverParser = PostgresServerStartupParser()
        startup.observingServer = startup.clientPhase != .blind
        startup.unsent = startup.clientPhase != .blind && startup.clientPhase != .readingPacket
        startupStep()
    }

    /// Moves start-up bytes both ways until nothing more can be done now; hands over to the pumps
    /// when sniffing is over and nothing is left to flush.
    func startupStep() {
        guard let startup else { return }
        var progressed = true
        while progressed {
            guard self.startup === startup, state == .established else { return }
            progressed = false
            queueForServer(startup)

            // 1. Bytes for the server.
            if !startup.toServer.isEmpty && serverWritable {
                switch Self.writeFront(serverFD, &startup.toServer, count: startup.toServer.count) {
                case .success(let n):
                    countStartupBytes(toServer: n, toClient: 0)
                    if n > 0 { progressed = true } else { serverWritable = false }
                    if !startup.toServer.isEmpty { serverWritable = false }
                case .failure(let error):
                    serverFailed("\(error)")
                    return
                }
            }

            // 2. Bytes for the client (not the held ones).
            let flushable = startup.flushableToClient
            if flushable > 0 && clientWritable {
                switch Self.writeFront(clientFD, &startup.toClient, count: flushable) {
                case .success(let n):
                    countStartupBytes(toServer: 0, toClient: n)
                    if n > 0 { progressed = true } else { clientWritable = false }
                    if n < flushable { clientWritable = false }
                    if let heldFrom = startup.heldFrom { startup.heldFrom = heldFrom - n }
                case .failure(let error):
                    end(.error("client: \(error)"))
                    return
                }
            }

            // 3. Bytes from the server, one chunk at a time once the client took the last one.
            if (startup.observingServer || startup.awaitingFirstPacket) && serverReadable
                && startup.flushableToClient == 0 {
                switch Self.readChunk(serverFD, max: StartupState.readChunk) {
                case .wouldBlock:
                    serverReadable = false
                case .failed(let error):
                    serverFailed("\(error)")
                    return
                case .endOfFile:
                    if startup.waitingForNode && canReplay() {
                        replayStartup("\(server?.name ?? "server") closed the connection before answering")
                        return
                    }
                    // The pumps read the end of file again and half-close as usual.
                    startup.goBlind()
                    progressed = true
                case .data(let bytes, let short):
                    if short && !serverHangup { serverReadable = false }
                    lastServerActivity = worker.loop.now
                    progressed = true
                    startup.toClient.append(contentsOf: bytes)
                    if startup.awaitingFirstPacket {
                        // The server spoke first: not PostgreSQL.
                        startup.goBlind()
                    } else if !serverBytesArrived(bytes, startup) {
                        return
                    }
                }
            }

            // 4. Bytes from the client: a start-up packet, or the authentication exchange.
            switch startup.clientPhase {
            case .readingPacket:
                let before = startup.clientPhase
                if !startup.clientInput.isEmpty { processClientInput() }
                if startup.clientPhase == .readingPacket && clientReadable { readClientPackets() }
                if startup.clientPhase != before || !startup.toServer.isEmpty { progressed = true }
            case .forwarding where startup.observingServer && startup.heldFrom == nil && !startup.unsent
                && startup.toServer.isEmpty && clientReadable:
                switch Self.readChunk(clientFD, max: StartupState.readChunk) {
                case .wouldBlock:
                    clientReadable = false
                case .failed(let error):
                    end(.error("client: \(error)"))
                    return
                case .endOfFile:
                    // Handed over below; the pumps read the end of file again.
                    startup.goBlind()
                    progressed = true
                case .data(let bytes, let short):
                    if short && !clientHangup { clientReadable = false }
                    lastClientActivity = worker.loop.now
                    startup.toServer.append(contentsOf: bytes)
                    progressed = true
                }
            default:
                break
            }
        }
        guard self.startup === startup, state == .established else { return }
        if startup.finished {
            self.startup = nil
            pump()
        }
    }

    /// Sends the pending request (or the replayed start-up) to a newly connected node.
    private func queueForServer(_ startup: StartupState) {
        guard startup.unsent else { return }
        switch startup.clientPhase {
        case .awaitingAnswer(let request):
            guard let bytes = startup.pendingEncryption else { return }
            startup.serverParser.expectEncryptionAnswer(to: request)
            startup.toServer.append(contentsOf: bytes)
        case .forwarding:
            guard let replay = startup.replay else { return }
            startup.toServer.append(contentsOf: replay)
            startup.heldFrom = startup.toClient.count
        case .readingPacket, .blind:
            break
        }
        startup.unsent = false
        if startup.waitingForNode {
            startup.answerDeadline = worker.loop.now &+ timeouts.startupAnswer.nanoseconds
            armTimer(startup.answerDeadline)
        }
    }

    /// The node accepted the connection but did not answer the start-up within
    /// `timeouts.startup_answer`: treated as a 57P03, replayed on the next node while the budget
    /// lasts, else refused with a FATAL error.
    private func nodeDidNotAnswer() {
        let reason = "\(server?.name ?? "server") did not answer the start-up within \(timeouts.startupAnswer.humanReadable)"
        if canReplay() {
            replayStartup(reason)
        } else {
            detachFromNode()
            end(.noBackend(reason))
        }
    }

    /// Feeds the node's bytes (already queued for the client) to the parser and acts on what it saw.
    /// Returns false when the session left the established state (replayed elsewhere, or ended).
    private func serverBytesArrived(_ bytes: [UInt8], _ startup: StartupState) -> Bool {
        guard startup.observingServer else { return true }
        for event in startup.serverParser.feed(bytes) {
            switch event {
            case .encryptionAccepted:
                // Encrypted end to end from the next byte on.
                startup.goBlind()
                return true
            case .encryptionRefused:
                startup.pendingEncryption = nil
                startup.clientPhase = .readingPacket
            case .authenticationRequested:
                // The salt or nonce belongs to this node: never retry from here on.
                startup.commit()
            case .errorBeforeAuth(let fields):
                if fields.isCannotConnectNow && startup.heldFrom != nil && canReplay() {
                    replayStartup("\(server?.name ?? "server") answered 57P03: \(fields.message ?? "")")
                    return false
                }
                startup.commit()
            case .backendKey(let key):
                recordCancelKey(key)
                startup.observingServer = false
            case .notPostgres:
                startup.goBlind()
                return true
            case .error, .notice, .negotiateProtocolVersion, .parameterStatus, .readyForQuery:
                break
            }
        }
        if startup.serverParser.isFinished { startup.observingServer = false }
        if let heldFrom = startup.heldFrom, startup.toClient.count - heldFrom > StartupState.maximumHeldBytes {
            startup.commit()
        }
        if !startup.observingServer && startup.clientPhase == .readingPacket { startup.goBlind() }
        return true
    }

    /// A read or write on the server failed during the start-up.
    private func serverFailed(_ error: String) {
        if let startup, startup.waitingForNode, canReplay() {
            replayStartup("\(server?.name ?? "server"): \(error)")
        } else {
            end(.error("server: \(error)"))
        }
    }

    // MARK: - Replay

    /// Whether a refused start-up may be replayed: nothing committed it to the node, and the budget
    /// (the hold timeout for cluster listeners, `retries` connects for static ones) is not spent.
    func canReplay() -> Bool {
        guard let startup, startup.retryable else { return false }
        if listener.configuration.role == .static { return attempts <= listener.configuration.retries }
        let holdTimeout = worker.configuration.cluster?.holdTimeout ?? .seconds(30)
        return worker.loop.now < acceptedAt &+ holdTimeout.nanoseconds
    }

    /// Drops the node's connection and everything it said, and starts the start-up again on the
    /// next eligible node (or, when none is left untried, on the same ones after a short pause).
    func replayStartup(_ reason: String) {
        guard startup != nil, let server else { return }
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
        serverCounter?.release()
        serverCounter = nil
        server = nil
        untriedAddresses = []
        let sentNothing = state != .established
        state = .waiting
        // A connect that did not complete sent nothing: the start-up, blind bytes included, stays as it is.
        guard !sentNothing, let startup else { return }
        if let heldFrom = startup.heldFrom { startup.toClient.removeSubrange(heldFrom...) }
        startup.heldFrom = nil
        startup.toServer = []
        startup.observingServer = false
        startup.unsent = true
        startup.answerDeadline = 0
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
            guard let startup else { return false }
            return startup.retryable && startup.clientPhase != .blind
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
        serverCounter?.release()
        serverCounter = nil
        server = nil
        worker.waitingRoom.leave(self)
        retryAt = 0
        state = .cancelling
        startup = nil
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

    /// Starts answering the client with an ErrorResponse for `reason`. Returns false when `reason`
    /// is no refusal (the caller then closes as usual).
    func beginRefusal(_ reason: SessionEnd) -> Bool {
        guard let startup,
              let refusal = StartupRefusal(
                end: reason, listener: listener.name, cluster: clusterName, lastWait: lastWait)
        else { return false }
        state = .refusing
        worker.waitingRoom.leave(self)
        retryAt = 0
        startup.refusal = (reason, refusal.errorResponse)
        startup.deadline = worker.loop.now &+ Self.refusalGrace.nanoseconds
        armTimer(startup.deadline)
        advanceRefusal()
        return true
    }

    /// The cluster's scope for a cluster listener's messages.
    private var clusterName: String? {
        listener.configuration.role == .static ? nil : worker.configuration.cluster?.scope
    }

    /// Answers a pending encryption request `N`, reads the StartupMessage, sends the error, closes.
    func advanceRefusal() {
        guard let startup, let refusal = startup.refusal else { return }
        var progressed = true
        while progressed && state == .refusing && self.startup === startup {
            progressed = false
            switch startup.clientPhase {
            case .blind:
                finishRefusal()
                return
            case .awaitingAnswer:
                startup.toClient.append(contentsOf: PostgresMessages.sslRefused)
                startup.pendingEncryption = nil
                startup.clientPhase = .readingPacket
                progressed = true
            case .forwarding:
                if !startup.refusalQueued {
                    startup.heldFrom = nil
                    startup.toClient.append(contentsOf: refusal.error)
                    startup.refusalQueued = true
                    progressed = true
                }
            case .readingPacket:
                if !startup.clientInput.isEmpty { processClientInput() }
                if startup.clientPhase == .readingPacket && clientReadable { readClientPackets() }
                if startup.clientPhase != .readingPacket { progressed = true }
            }
            guard state == .refusing else { return }
            if !startup.toClient.isEmpty && clientWritable {
                switch Self.writeFront(clientFD, &startup.toClient, count: startup.toClient.count) {
                case .success(let n):
                    if n > 0 { progressed = true } else { clientWritable = false }
                    if !startup.toClient.isEmpty { clientWritable = false }
                case .failure:
                    finishRefusal()
                    return
                }
            }
            if startup.refusalQueued && startup.toClient.isEmpty {
                finishRefusal()
                return
            }
        }
    }

    /// Closes a refused session with the reason it was refused for.
    func finishRefusal() {
        let reason = startup?.refusal?.end ?? .clientClosed
        end(reason)
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

    /// Writes the first `count` bytes of `bytes` once and removes what was written. `.success(0)`: would block.
    static func writeFront(_ fd: Int32, _ bytes: inout [UInt8], count: Int) -> Result<Int, IOError> {
        let result = bytes.withUnsafeBytes { buffer -> Result<IOResult<Int>, IOError> in
            do throws(IOError) {
                // Non-empty here (callers check), so the base address exists.
                return .success(try Socket.write(fd, from: buffer.baseAddress!, count: count))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(.wouldBlock):
            return .success(0)
        case .success(.processed(let n)):
            bytes.removeFirst(n)
            return .success(n)
        case .failure(let error):
            return .failure(error)
        }
    }
}

extension StartupState {
    /// The node can no longer be swapped: its answer is forwarded, the replay copy dropped.
    func commit() {
        retryable = false
        heldFrom = nil
        replay = nil
    }

    /// The session waits for the node's first answer to what it sent (so nothing of this node
    /// reached the client yet, and a close now may be replayed elsewhere).
    var waitingForNode: Bool {
        guard retryable else { return false }
        if heldFrom != nil { return true }
        if case .awaitingAnswer = clientPhase, !unsent { return true }
        return false
    }
}
