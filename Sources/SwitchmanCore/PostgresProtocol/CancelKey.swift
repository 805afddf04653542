/// The key that identifies one PostgreSQL session to a CancelRequest: the backend's process ID and
/// its secret, as announced in BackendKeyData (`K`) and repeated in a CancelRequest.
///
/// Up to protocol 3.1 the secret is always 4 bytes; from protocol 3.2 on its length varies
/// (PostgreSQL 18 sends 32 bytes, the protocol allows up to 256).
public struct CancelKey: Hashable, Sendable {
    /// Process ID of the backend that serves the session.
    public let processID: UInt32
    /// Secret bytes (4…256 of them in anything the parsers produce).
    public let secret: [UInt8]

    /// Smallest secret any protocol version sends (protocol 3.0's fixed 4 bytes).
    public static let minimumSecretLength = 4
    /// Largest secret protocol 3.2 allows.
    public static let maximumSecretLength = 256

    /// Creates a key from its parts; the parsers only produce secrets of 4…256 bytes.
    public init(processID: UInt32, secret: [UInt8]) {
        self.processID = processID
        self.secret = secret
    }
}
