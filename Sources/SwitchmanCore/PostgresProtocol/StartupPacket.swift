/// The first packet a PostgreSQL client sends on a connection (and the one after an
/// SSLRequest or GSSENCRequest answered `N`).
public enum StartupPacket: Hashable, Sendable {
    /// SSLRequest (code 80877103): the client asks for TLS; the server answers one byte, `S` or `N`.
    case sslRequest
    /// GSSENCRequest (code 80877104): the client asks for GSSAPI encryption; answer `G` or `N`.
    /// libpq may follow an `N` with an SSLRequest on the same connection.
    case gssEncRequest
    /// CancelRequest (code 80877102): cancel the query running in the session with this key.
    /// The server never answers it; the client waits for the connection to close.
    case cancelRequest(CancelKey)
    /// StartupMessage (protocol 3.x): the session starts with these parameters.
    case startup(StartupMessage)

    /// Request code of an SSLRequest.
    public static let sslRequestCode: UInt32 = 80_877_103
    /// Request code of a GSSENCRequest.
    public static let gssEncRequestCode: UInt32 = 80_877_104
    /// Request code of a CancelRequest.
    public static let cancelRequestCode: UInt32 = 80_877_102
    /// Largest start-up packet PostgreSQL accepts (`MAX_STARTUP_PACKET_LENGTH`).
    public static let maximumLength = 10_000
    /// Smallest packet: length and code.
    public static let minimumLength = 8
    /// Smallest CancelRequest: length, code, process ID and a 4-byte secret.
    public static let minimumCancelLength = 12 + CancelKey.minimumSecretLength
    /// Largest CancelRequest: length, code, process ID and a 256-byte secret (protocol 3.2).
    public static let maximumCancelLength = 12 + CancelKey.maximumSecretLength
}
