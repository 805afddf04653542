import SwitchmanCore

/// What a session knows about a connection's start while it sniffs it: the client's packets, the
/// bytes held each way, and whether the node may still be swapped for another.
///
/// Allocated at accept and dropped when the session hands its sockets to the pumps, so an idle
/// session keeps none of it. Loop-confined (its session's loop); holds no descriptor.
///
/// The rule, in short (see ``Session``'s start-up extension for the I/O):
/// - Client side: the first packet(s) are read and classified with ``PostgresStartupParser``. An
///   SSLRequest or GSSENCRequest goes to the node, whose one-byte answer goes back; a StartupMessage
///   goes to the node and is kept for a replay; anything else is not PostgreSQL and is forwarded
///   untouched (sniffing ends).
/// - Server side: the node's bytes are fed to ``PostgresServerStartupParser``; after a StartupMessage
///   they are held until the first decisive event (an authentication request, an error), so an early
///   57P03 can be answered by replaying the start-up elsewhere without the client noticing.
/// - After an `S`/`G` answer the session is encrypted end to end: no more sniffing.
/// - Plaintext sessions are observed until BackendKeyData (or ReadyForQuery), for cancel routing.
final class StartupState {
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

    /// Largest number of client bytes kept while a packet is incomplete (the parser never asks for more).
    static let maximumClientInput = StartupPacket.maximumLength
    /// Most server bytes held back while a retry is still possible; past it the retry is given up.
    static let maximumHeldBytes = 64 * 1024
    /// Largest chunk read in one call while sniffing.
    static let readChunk = 16 * 1024

    var clientPhase: ClientPhase = .readingPacket
    /// Client bytes read and not yet classified (part of a packet), or read past a packet.
    var clientInput: [UInt8] = []
    /// Complete start-up packets read from the client so far.
    var packetsSeen = 0
    /// The SSLRequest or GSSENCRequest not answered yet (resent to the next node on a retry).
    var pendingEncryption: [UInt8]?
    /// The client's bytes after the last `N` (its StartupMessage): replayed to the next node on a retry.
    /// Dropped once no retry is possible.
    var replay: [UInt8]?
    /// The current client packet (or replay) still has to be sent to the current node.
    var unsent = false

    /// Bytes for the server, written before anything the pumps read.
    var toServer: [UInt8] = []
    /// Bytes for the client; those from `heldFrom` on wait for a decisive event.
    var toClient: [UInt8] = []
    /// Index in `toClient` where held bytes start; nil when nothing is held.
    var heldFrom: Int?

    /// Follows the current node's answers; replaced on each new connection.
    var serverParser = PostgresServerStartupParser()
    /// The current node's bytes go through `serverParser`.
    var observingServer = false
    /// Nothing this node sent commits the session to it (no `S`/`G`, no authentication request).
    var retryable = true

    /// Why the session waits (hold or queue), for its end reason when the wait times out.
    var waitReason = ""

    /// Monotonic time by which the node must answer what was sent to it (0: nothing awaited).
    var answerDeadline: UInt64 = 0

    /// The session asked for a server (static listeners at once; cluster listeners after the first packet).
    var serverWanted = false
    /// Client sniffing gives up (goes blind) at this monotonic time; when refusing, the close deadline.
    var deadline: UInt64

    /// Set when the session refuses the client: why it ends, and the ErrorResponse to send.
    var refusal: (end: SessionEnd, error: [UInt8])?
    /// The ErrorResponse has been queued for the client.
    var refusalQueued = false

    init(deadline: UInt64) {
        self.deadline = deadline
    }

    /// The client has not sent a complete first packet yet.
    var awaitingFirstPacket: Bool { clientPhase == .readingPacket && packetsSeen == 0 }

    /// Client bytes ready to flush now (the held ones excluded).
    var flushableToClient: Int { heldFrom ?? toClient.count }

    /// Stops every kind of sniffing: client bytes read so far go to the server, nothing is held.
    func goBlind() {
        if !clientInput.isEmpty {
            toServer.append(contentsOf: clientInput)
            clientInput = []
        }
        clientPhase = .blind
        observingServer = false
        heldFrom = nil
        retryable = false
        replay = nil
        pendingEncryption = nil
        unsent = false
    }

    /// Whether the session can hand its sockets to the pumps: nothing left to sniff or to flush.
    var finished: Bool {
        !observingServer && toServer.isEmpty && toClient.isEmpty && clientInput.isEmpty
            && (clientPhase == .forwarding || clientPhase == .blind)
    }
}
