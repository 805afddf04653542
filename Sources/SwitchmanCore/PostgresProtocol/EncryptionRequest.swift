/// Which encryption a client asked for before its StartupMessage; tells the server parser how to
/// read the single byte that answers it.
public enum EncryptionRequest: Hashable, Sendable {
    /// SSLRequest: answered `S` (TLS follows) or `N`.
    case ssl
    /// GSSENCRequest: answered `G` (GSSAPI encryption follows) or `N`.
    case gss
}
