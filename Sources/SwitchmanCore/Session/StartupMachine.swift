/// The PostgreSQL-aware start of one proxied connection, as a pure state machine: the session
/// reports what happened on its sockets (``Event``), the machine says what to do next (``Action``)
/// and keeps the bytes to send each way. It holds no descriptor and makes no call: table-tested
/// without sockets.
///
/// A session needs it only once something happens that it must judge, and drops it at
/// ``Action/handOff`` (or at the end), so an idle session keeps none of it and the pumps pay nothing
/// for it. Until the first bytes, end of file, failure, hang-up or refusal, a machine's state
/// depends only on when it was made and whether a node is connected (a timer before the first-packet
/// deadline, ``Event/connected`` and ``Event/detached`` change nothing else): so a session may act on
/// ``firstActions(now:choosesServerAtOnce:)`` at accept and make the machine later, with the same
/// `now`, telling it ``Event/connected`` if a node is connected by then. Confined to its session's loop.
///
/// Bytes to send are not actions but an outbox: ``bytesForServer`` and the first
/// ``flushableToClient`` bytes of ``bytesForClient``. The session writes what the socket takes and
/// reports it (``Event/sentToServer(_:)``, ``Event/sentToClient(_:)``), so a short write loses
/// nothing. It reads a socket only while ``readsClient`` / ``readsServer`` say so.
///
/// Rules:
/// - **When a server is wanted.** ``Action/chooseServer`` at once when the machine is made so
///   (a static listener: its clients may wait for the server to speak first), else once the first
///   packet is known (a cluster listener: a CancelRequest is never held or given a server slot), or
///   when the client sends no complete first packet within ``firstPacketWait`` (then no sniffing).
/// - **Not PostgreSQL.** A first packet the parser rejects, or a server that speaks before the
///   client: forwarded untouched, sniffing over.
/// - **SSLRequest / GSSENCRequest.** Sent to the node, whose one-byte answer goes back. After
///   `S`/`G` the session is encrypted end to end: sniffing is over.
/// - **StartupMessage.** Sent to the node and kept. The node's answer is held until an
///   authentication request (forwarded; the session now belongs to this node) or an ErrorResponse:
///   57P03 asks for ``Action/replay(_:)`` (while the session's budget lasts, else the error is
///   forwarded); any other error is forwarded. A node that closes, fails, or stays silent for the
///   answer timeout before answering counts as a 57P03 (silence with no budget left:
///   ``Action/giveUp(_:)``).
/// - **Cancel keys.** A plaintext session is observed until BackendKeyData
///   (``Action/recordCancelKey(_:)``) or ReadyForQuery. A first packet that is a CancelRequest:
///   ``Action/forwardCancel(_:packet:)``.
/// - **Refusal** (``Event/refuse(_:errorResponse:)``, the session found no server): a pending
///   SSLRequest/GSSENCRequest is answered `N`, the StartupMessage is read, the ErrorResponse is
///   sent, then ``Action/close(_:)``; a client silent for ``refusalGrace`` is closed without a word.
/// - **Abandon** (``Event/abandon(_:errorResponse:)``, the session drops a node that authentication
///   already bound it to): while the node's messages are followed and the client's stream is between
///   two of them (``mayAnswerClient``), the ErrorResponse follows what the client received, then
///   ``Action/close(_:)``; the client reads a FATAL error instead of a bare close.
public final class StartupMachine {
    /// Something that happened to the session's connection.
    public enum Event: Equatable, Sendable {
        /// Bytes read from the client.
        case clientBytes([UInt8])
        /// The client's end of file: read, or a read hang-up with nothing left to read.
        case clientEndOfFile
        /// The client's socket hung up or failed outright (HUP, ERR) while no node is connected.
        case clientHungUp
        /// A read or write on the client failed.
        case clientFailed(String)
        /// A connection to a node is up: the first, or the next one after a replay or route change.
        case connected
        /// Bytes read from the node.
        case serverBytes([UInt8])
        /// The node's end of file.
        case serverEndOfFile
        /// A read or write on the node failed.
        case serverFailed(String)
        /// The session let its node go before the start-up bound it there (a replay, a route
        /// change, a node given up): what the node said is dropped, what the client said is sent
        /// again to the next one. Nothing happens when no node is connected.
        case detached
        /// The session gets no server: answer the client with `errorResponse`, then close with `end`.
        case refuse(SessionEnd, errorResponse: [UInt8])
        /// The session let its node go although the start-up had bound it there (a route change, an
        /// operator): answer the client with `errorResponse` after what it already received, then close
        /// with `end`. Only when ``mayAnswerClient``.
        case abandon(SessionEnd, errorResponse: [UInt8])
        /// The session wrote the first `n` bytes of ``StartupMachine/bytesForServer``.
        case sentToServer(Int)
        /// The session wrote the first `n` bytes of ``StartupMachine/bytesForClient``.
        case sentToClient(Int)
        /// The session's timer fired (the time is the `now` given with it).
        case timer
    }

    /// What the session must do (bytes to send wait in the outbox instead).
    public enum Action: Equatable, Sendable {
        /// Make sure the session's timer fires no later than this monotonic time (nanoseconds).
        case armTimer(UInt64)
        /// Start choosing a server (route, hold, queue, connect).
        case chooseServer
        /// Drop the node (its connection and everything it said, then ``Event/detached``) and start
        /// again on the next eligible one.
        case replay(NodeFailure)
        /// The node did not answer and no replay is left: let it go (``Event/detached``) and refuse
        /// the client (``Event/refuse(_:errorResponse:)``).
        case giveUp(NodeFailure)
        /// The node announced this BackendKeyData: CancelRequests carrying it go to this node.
        case recordCancelKey(CancelKey)
        /// The connection's first packet is a CancelRequest: forward it, close when done. The
        /// machine is finished.
        case forwardCancel(CancelKey, packet: [UInt8])
        /// Sniffing is over and the outbox is empty: the pumps take both sockets. The machine is finished.
        case handOff
        /// End the session for this reason. The machine is finished.
        case close(SessionEnd)
    }

    /// Why a node lost the session before answering its start-up.
    public enum NodeFailure: Equatable, Sendable {
        /// It answered 57P03 (starting up, shutting down, in recovery), with this message.
        case cannotConnectNow(String)
        /// It closed the connection.
        case closedBeforeAnswering
        /// A read or write on it failed with this error.
        case failed(String)
        /// It sent nothing within the answer timeout.
        case noAnswer
    }

    /// Where the client side of the start-up is.
    enum ClientPhase: Equatable {
        /// Reading a start-up packet: the first one, or the one after an `N`.
        case readingPacket
        /// An SSLRequest or GSSENCRequest waits for its one-byte answer (the node's, or our `N`).
        case awaitingAnswer(EncryptionRequest)
        /// The StartupMessage was read: later client bytes (the authentication exchange) pass as they come.
        case forwarding
        /// Not PostgreSQL, or encrypted from here on: the client's bytes are the pumps' business.
        case blind
    }

    /// How long a client may take over its first complete packet before sniffing gives up.
    public static let firstPacketWait: Duration = .seconds(10)
    /// How long a refused client has to send its StartupMessage (to receive the error) before the close.
    public static let refusalGrace: Duration = .seconds(2)
    /// Most server bytes held back while a replay is still possible; past it the replay is given up.
    public static let maximumHeldBytes = 64 * 1024

    // Client side.
    var clientPhase: ClientPhase = .readingPacket
    /// Client bytes read and not yet classified (part of a packet), or read past a packet.
    private var clientInput: [UInt8] = []
    /// Complete start-up packets read from the client so far.
    private var packetsSeen = 0
    /// The SSLRequest or GSSENCRequest not answered yet (resent to the next node on a replay).
    private var pendingEncryption: [UInt8]?
    /// The client's bytes after the last `N` (its StartupMessage): sent again to the next node on a
    /// replay. Dropped once no replay is possible.
    private var replayBytes: [UInt8]?
    /// The current client packet (or replay) still has to be queued for the current node.
    private var unsent = false

    // Outbox.
    /// Bytes for the server, to be written before anything the pumps read.
    public private(set) var bytesForServer: [UInt8] = []
    /// Bytes for the client; those from `heldFrom` on wait for a decisive answer of the node.
    public private(set) var bytesForClient: [UInt8] = []
    /// Index in `bytesForClient` where held bytes start; nil when nothing is held.
    private var heldFrom: Int?

    // Server side.
    /// A node is connected.
    private var connected = false
    /// Follows the current node's answers; replaced on each new connection.
    private var serverParser = PostgresServerStartupParser()
    /// The current node's bytes go through `serverParser`.
    private var observingServer = false
    /// Nothing a node sent commits the session to it (no `S`/`G`, no authentication request).
    private var retryable = true
    /// Monotonic time by which the node must answer what was sent to it (0: nothing awaited).
    private var answerDeadline: UInt64 = 0
    /// How long a node may take to answer (nanoseconds).
    private let answerTimeout: UInt64

    /// A server was asked for (``Action/chooseServer`` given).
    private var serverWanted = false
    /// Sniffing gives up (goes blind) at this monotonic time; when refusing, the close deadline.
    private var deadline: UInt64
    /// Set when refusing the client: why the session ends, and the ErrorResponse to send.
    private var refusal: (end: SessionEnd, error: [UInt8])?
    /// The ErrorResponse has been queued for the client.
    private var refusalQueued = false
    /// A terminal action was given: every later event is ignored.
    public private(set) var isFinished = false
    /// Why the session waits for a server (a hold or a queue), set by the session: kept here, where it
    /// lives only until the pumps take over, so an established session carries no string for it.
    public var waitReason = ""
    /// A replay or give-up was asked for: the node's connection is left alone until ``Event/detached``.
    private var losingNode = false

    private var actions: [Action] = []

    /// `ip:port` of the client when its StartupMessage's `application_name` is to carry it
    /// (``ApplicationNameTag``); nil leaves the start-up as sent.
    private let clientAddressTag: String?
    /// With a ``clientAddressTag``: whether the StartupMessage was tagged (true), or went on as sent
    /// because the start-up was encrypted (false); nil until one or the other happened.
    public private(set) var applicationNameTagged: Bool?

    /// A machine for a connection accepted at `now`. `choosesServerAtOnce`: ``start()`` asks for a
    /// server before the client said anything. `answerTimeout`: how long (nanoseconds) a node may
    /// take to answer the start-up sent to it. `clientAddressTag`: the client's `ip:port`, to be
    /// written into the StartupMessage's `application_name` (nil: sent as is).
    public init(now: UInt64, choosesServerAtOnce: Bool, answerTimeout: UInt64, clientAddressTag: String? = nil) {
        self.answerTimeout = answerTimeout
        self.clientAddressTag = clientAddressTag
        deadline = Self.firstPacketDeadline(madeAt: now)
        serverWanted = choosesServerAtOnce
    }

    /// The first actions: arm the first-packet deadline, and choose a server when made to at once.
    public func start() -> [Action] {
        serverWanted ? [.armTimer(deadline), .chooseServer] : [.armTimer(deadline)]
    }

    /// What ``start()`` returns for a machine made at `now` (`choosesServerAtOnce` as given to
    /// ``init(now:choosesServerAtOnce:answerTimeout:)``), without making it: a session makes its
    /// machine only when the first event that needs it arrives.
    public static func firstActions(now: UInt64, choosesServerAtOnce: Bool) -> [Action] {
        let deadline = firstPacketDeadline(madeAt: now)
        return choosesServerAtOnce ? [.armTimer(deadline), .chooseServer] : [.armTimer(deadline)]
    }

    /// When a machine made at `now` stops waiting for the client's first packet (a timer firing
    /// before it changes nothing but re-arming it).
    public static func firstPacketDeadline(madeAt now: UInt64) -> UInt64 {
        now &+ firstPacketWaitNanoseconds
    }

    // MARK: - What the session may do

    /// The client's bytes are read now (a start-up packet, or the authentication exchange).
    public var readsClient: Bool {
        if isFinished { return false }
        if clientPhase == .readingPacket { return true }
        return connected && clientPhase == .forwarding && observingServer && heldFrom == nil && !unsent
            && bytesForServer.isEmpty
    }

    /// The node's bytes are read now: one chunk at a time, once the client took the last one.
    public var readsServer: Bool {
        !isFinished && connected && (observingServer || awaitingFirstPacket) && flushableToClient == 0
    }

    /// How many bytes at the front of ``bytesForClient`` may be written now (held ones excluded).
    public var flushableToClient: Int { heldFrom ?? bytesForClient.count }

    /// The client may still be refused with an ErrorResponse (it speaks, or may speak, PostgreSQL).
    public var mayRefuse: Bool { !isFinished && clientPhase != .blind }

    /// The client's stream is between two of the node's messages while the start-up is still followed:
    /// an ErrorResponse may be sent to it (``Event/abandon(_:errorResponse:)``).
    public var mayAnswerClient: Bool {
        !isFinished && refusal == nil && connected && clientPhase == .forwarding && observingServer && heldFrom == nil
            && !losingNode && serverParser.atMessageBoundary
    }

    /// Nothing binds the session to its node yet (no `S`/`G`, no authentication request, no blind
    /// bytes): a route change may send it to another node.
    public var mayMoveToAnotherNode: Bool { !isFinished && retryable && clientPhase != .blind }

    // MARK: - Events

    /// Applies `event`, which happened at `now` (monotonic nanoseconds), and returns what the session
    /// must do, in order; a terminal action (replay, give-up, cancel, hand-off, close) comes last.
    /// `canReplay`: whether the session's budget (hold timeout, retries) allows another node; asked
    /// only when a node is lost.
    public func handle(_ event: Event, now: UInt64, canReplay: @autoclosure () -> Bool) -> [Action] {
        guard !isFinished else { return [] }
        actions.removeAll(keepingCapacity: true)
        switch event {
        case .clientBytes(let bytes):
            if clientPhase == .readingPacket {
                clientInput.append(contentsOf: bytes)
                processClientInput()
            } else {
                bytesForServer.append(contentsOf: bytes)
            }
        case .clientEndOfFile:
            clientEndOfFile()
        case .clientHungUp:
            closeForClient()
        case .clientFailed(let error):
            if refusal != nil { closeForClient() } else { finish(.close(.error("client: \(error)"))) }
        case .connected:
            connected = true
            serverParser = PostgresServerStartupParser()
            observingServer = clientPhase != .blind
            unsent = clientPhase != .blind && clientPhase != .readingPacket
        case .serverBytes(let bytes):
            serverBytes(bytes, canReplay: canReplay)
        case .serverEndOfFile:
            if waitingForNode && canReplay() {
                finish(.replay(.closedBeforeAnswering))
            } else {
                // The pumps read the end of file again and half-close as usual.
                goBlind()
            }
        case .serverFailed(let error):
            if waitingForNode && canReplay() {
                finish(.replay(.failed(error)))
            } else {
                finish(.close(.error("server: \(error)")))
            }
        case .detached:
            detached()
        case .refuse(let end, let errorResponse):
            refusal = (end, errorResponse)
            deadline = now &+ Self.refusalGraceNanoseconds
            actions.append(.armTimer(deadline))
        case .abandon(let end, let errorResponse):
            guard mayAnswerClient else {
                finish(.close(end))
                break
            }
            connected = false
            observingServer = false
            bytesForServer = []
            bytesForClient.append(contentsOf: errorResponse)
            refusal = (end, errorResponse)
            refusalQueued = true
            deadline = now &+ Self.refusalGraceNanoseconds
            actions.append(.armTimer(deadline))
        case .sentToServer(let count):
            bytesForServer.removeFirst(count)
        case .sentToClient(let count):
            bytesForClient.removeFirst(count)
            if let held = heldFrom { heldFrom = held - count }
        case .timer:
            timerFired(now: now, canReplay: canReplay)
        }
        if !isFinished && !losingNode {
            if refusal != nil {
                advanceRefusal()
            } else if connected {
                queueForServer(now: now)
                if handOffReady { finish(.handOff) }
            }
        }
        return actions
    }

    // MARK: - Client side

    /// The client has not sent a complete first packet yet.
    private var awaitingFirstPacket: Bool { clientPhase == .readingPacket && packetsSeen == 0 }

    private func clientEndOfFile() {
        switch clientPhase {
        case .readingPacket:
            if clientInput.isEmpty {
                closeForClient()
                return
            }
            // A partial packet and then the end: not a start-up we understand. What came goes to
            // the server, and the pumps read the end of file again.
            goBlind()
            wantServer()
        case .forwarding where connected:
            // Handed over; the pumps read the end of file again.
            goBlind()
        case .awaitingAnswer, .forwarding, .blind:
            if connected { return }
            // A client waiting for its server hung up with nothing left to read: it gave up. Blind
            // bytes already read still go to the server (the pumps then see the end of file).
            if clientPhase == .blind && !bytesForServer.isEmpty { return }
            closeForClient()
        }
    }

    /// Classifies the packets in `clientInput` while the client is expected to send one.
    private func processClientInput() {
        while clientPhase == .readingPacket && !clientInput.isEmpty && !isFinished {
            switch PostgresStartupParser.parse(clientInput) {
            case .needMore:
                return
            case .notPostgres:
                goBlind()
                wantServer()
                return
            case .packet(let packet, let consumed):
                let bytes = Array(clientInput[0..<consumed])
                clientInput.removeFirst(consumed)
                let first = packetsSeen == 0
                packetsSeen += 1
                switch packet {
                case .sslRequest, .gssEncRequest:
                    clientPhase = .awaitingAnswer(packet == .sslRequest ? .ssl : .gss)
                    pendingEncryption = bytes
                    unsent = true
                case .cancelRequest(let key) where first:
                    finish(.forwardCancel(key, packet: bytes))
                    return
                case .cancelRequest, .startup:
                    var sent = bytes
                    if case .startup = packet, let clientAddressTag,
                       let tagged = ApplicationNameTag.rewrite(startupPacket: bytes, client: clientAddressTag) {
                        sent = tagged
                        applicationNameTagged = true
                    }
                    // Whatever the client sent past its StartupMessage travels (and replays) with it.
                    replayBytes = sent + clientInput
                    clientInput = []
                    clientPhase = .forwarding
                    unsent = true
                }
                wantServer()
            }
        }
    }

    /// A cluster listener's session asks for its server once the first packet is known.
    private func wantServer() {
        guard refusal == nil, !serverWanted else { return }
        serverWanted = true
        actions.append(.chooseServer)
    }

    /// Closes because the client left (or could not be written): with the refusal's reason when refusing.
    private func closeForClient() {
        finish(.close(refusal?.end ?? .clientClosed))
    }

    // MARK: - Server side

    /// The session waits for the node's first answer to what it sent (so nothing of this node
    /// reached the client yet, and losing it now may be replayed elsewhere).
    private var waitingForNode: Bool {
        guard retryable else { return false }
        if heldFrom != nil { return true }
        if case .awaitingAnswer = clientPhase, !unsent { return true }
        return false
    }

    /// Queues the pending request (or the replayed start-up) for a newly connected node.
    private func queueForServer(now: UInt64) {
        guard unsent else { return }
        switch clientPhase {
        case .awaitingAnswer(let request):
            guard let bytes = pendingEncryption else { return }
            serverParser.expectEncryptionAnswer(to: request)
            bytesForServer.append(contentsOf: bytes)
        case .forwarding:
            guard let replayBytes else { return }
            bytesForServer.append(contentsOf: replayBytes)
            heldFrom = bytesForClient.count
        case .readingPacket, .blind:
            break
        }
        unsent = false
        if waitingForNode {
            answerDeadline = now &+ answerTimeout
            actions.append(.armTimer(answerDeadline))
        }
    }

    private func serverBytes(_ bytes: [UInt8], canReplay: () -> Bool) {
        guard connected else { return }
        bytesForClient.append(contentsOf: bytes)
        if awaitingFirstPacket {
            // The server spoke first: not PostgreSQL.
            goBlind()
            return
        }
        guard observingServer else { return }
        for event in serverParser.feed(bytes) {
            switch event {
            case .encryptionAccepted:
                // Encrypted end to end from the next byte on.
                if clientAddressTag != nil { applicationNameTagged = false }
                goBlind()
                return
            case .encryptionRefused:
                pendingEncryption = nil
                clientPhase = .readingPacket
            case .authenticationRequested:
                // The salt or nonce belongs to this node: never replay from here on.
                commit()
            case .errorBeforeAuth(let fields):
                if fields.isCannotConnectNow && heldFrom != nil && retryable && canReplay() {
                    finish(.replay(.cannotConnectNow(fields.message ?? "")))
                    return
                }
                commit()
            case .backendKey(let key):
                actions.append(.recordCancelKey(key))
                observingServer = false
            case .notPostgres:
                goBlind()
                return
            case .error, .notice, .negotiateProtocolVersion, .parameterStatus, .readyForQuery:
                break
            }
        }
        if serverParser.isFinished { observingServer = false }
        if let heldFrom, bytesForClient.count - heldFrom > Self.maximumHeldBytes { commit() }
        if !observingServer && clientPhase == .readingPacket { goBlind() }
        // Bytes the client sent past an encryption request refused just now.
        if clientPhase == .readingPacket && !clientInput.isEmpty { processClientInput() }
    }

    private func detached() {
        losingNode = false
        guard connected else { return }
        connected = false
        if let heldFrom { bytesForClient.removeSubrange(heldFrom...) }
        heldFrom = nil
        bytesForServer = []
        observingServer = false
        unsent = true
        answerDeadline = 0
    }

    /// The node can no longer be swapped: its answer is forwarded, the replay copy dropped.
    private func commit() {
        retryable = false
        heldFrom = nil
        replayBytes = nil
    }

    /// Stops every kind of sniffing: client bytes read so far go to the server, nothing is held.
    private func goBlind() {
        if !clientInput.isEmpty {
            bytesForServer.append(contentsOf: clientInput)
            clientInput = []
        }
        clientPhase = .blind
        observingServer = false
        heldFrom = nil
        retryable = false
        replayBytes = nil
        pendingEncryption = nil
        unsent = false
    }

    /// The client's start-up packet (a StartupMessage, or a CancelRequest after an `N`) went in the
    /// clear, so its later bytes are PostgreSQL messages the proxy can read (no SSL or GSS
    /// encryption, not another protocol).
    public var clientSpeaksPlainPostgres: Bool { clientPhase == .forwarding }

    /// Nothing left to sniff or to flush: the pumps can take over.
    private var handOffReady: Bool {
        !observingServer && bytesForServer.isEmpty && bytesForClient.isEmpty && clientInput.isEmpty
            && (clientPhase == .forwarding || clientPhase == .blind)
    }

    // MARK: - Timer

    private func timerFired(now: UInt64, canReplay: () -> Bool) {
        if refusal != nil {
            if now >= deadline { closeForClient() } else { actions.append(.armTimer(deadline)) }
            return
        }
        if connected && waitingForNode && answerDeadline != 0 {
            if now >= answerDeadline {
                finish(canReplay() ? .replay(.noAnswer) : .giveUp(.noAnswer))
                return
            }
            actions.append(.armTimer(answerDeadline))
        }
        guard awaitingFirstPacket else { return }
        if now < deadline {
            actions.append(.armTimer(deadline))
            return
        }
        // No complete first packet in time: no sniffing.
        goBlind()
        if !connected { wantServer() }
    }

    // MARK: - Refusal

    /// Answers a pending encryption request `N`, reads the StartupMessage, queues the error, and
    /// closes once it is written.
    private func advanceRefusal() {
        guard let refusal else { return }
        var progressed = true
        while progressed && !isFinished {
            progressed = false
            switch clientPhase {
            case .blind:
                closeForClient()
                return
            case .awaitingAnswer:
                bytesForClient.append(contentsOf: PostgresMessages.sslRefused)
                pendingEncryption = nil
                clientPhase = .readingPacket
                progressed = true
            case .forwarding:
                if !refusalQueued {
                    heldFrom = nil
                    bytesForClient.append(contentsOf: refusal.error)
                    refusalQueued = true
                    progressed = true
                }
            case .readingPacket:
                if !clientInput.isEmpty { processClientInput() }
                if clientPhase != .readingPacket { progressed = true }
            }
        }
        if !isFinished && refusalQueued && bytesForClient.isEmpty { closeForClient() }
    }

    // MARK: - Helpers

    /// Gives a terminal action: the machine ignores every later event.
    private func finish(_ action: Action) {
        actions.append(action)
        switch action {
        case .forwardCancel, .handOff, .close:
            isFinished = true
        case .replay, .giveUp:
            losingNode = true
        case .armTimer, .chooseServer, .recordCancelKey:
            break
        }
    }

    // Converted once: Duration.components costs 128-bit arithmetic, and these are read per connection.
    private static let firstPacketWaitNanoseconds = nanoseconds(firstPacketWait)
    private static let refusalGraceNanoseconds = nanoseconds(refusalGrace)

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
