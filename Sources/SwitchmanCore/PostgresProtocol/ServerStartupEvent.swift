/// Something `PostgresServerStartupParser` recognised in a server's first messages.
public enum ServerStartupEvent: Hashable, Sendable {
    /// The server answered `S` to an SSLRequest or `G` to a GSSENCRequest: the session is encrypted
    /// end to end from the next byte on; sniffing is over. Never retry on another node after this.
    case encryptionAccepted(EncryptionRequest)
    /// The server answered `N`: the client continues in plaintext, with a StartupMessage or (after a
    /// refused GSSENCRequest) an SSLRequest.
    case encryptionRefused(EncryptionRequest)
    /// An AuthenticationRequest (`R`) with its code: 0 ok, 2 Kerberos V5, 3 cleartext password,
    /// 5 MD5 password, 7 GSS, 8 GSS continue, 9 SSPI, 10 SASL, 11 SASL continue, 12 SASL final.
    /// The first one commits the session to this node (its salt and nonce belong to it).
    case authenticationRequested(code: UInt32)
    /// An ErrorResponse before any authentication request: the node refused the connection before
    /// looking at credentials (57P03 starting up / shutting down, 53300 too many connections, a
    /// pg_hba rejection, …). The server closes the connection after it; sniffing is over.
    case errorBeforeAuth(ErrorFields)
    /// An ErrorResponse after authentication started (bad password, unknown database, …). When its
    /// severity is FATAL or PANIC the server closes the connection and sniffing is over.
    case error(ErrorFields)
    /// A NoticeResponse.
    case notice(ErrorFields)
    /// NegotiateProtocolVersion (`v`): the newest version the server supports for the requested
    /// major, and the `_pq_.*` options it did not recognise. The protocol documentation calls the
    /// first field the "newest minor version", but PostgreSQL sends the whole version code
    /// (PostgreSQL 15.18 sent 196608, i.e. 3.0), so it is decoded as a full version.
    case negotiateProtocolVersion(newestVersion: ProtocolVersion, unrecognizedOptions: [String])
    /// ParameterStatus (`S`) during start-up, e.g. `server_version`.
    case parameterStatus(name: String, value: String)
    /// BackendKeyData (`K`): the key a CancelRequest for this session must carry.
    case backendKey(CancelKey)
    /// ReadyForQuery (`Z`) with its transaction status byte (`I`, `T` or `E`): the start-up is
    /// complete; sniffing is over.
    case readyForQuery(transactionStatus: UInt8)
    /// The server does not speak PostgreSQL's protocol (or broke it): forward blindly, stop sniffing.
    case notPostgres(NotPostgresReason)
}
