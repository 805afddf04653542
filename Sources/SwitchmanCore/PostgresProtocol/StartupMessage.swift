/// A client's StartupMessage: protocol version and the ordered parameters
/// (`user`, `database`, `application_name`, `options`, `replication`, `_pq_.*` …).
public struct StartupMessage: Hashable, Sendable {
    /// One `name=value` pair, in the order the client sent it.
    public struct Parameter: Hashable, Sendable {
        /// Parameter name, e.g. `user`.
        public let name: String
        /// Parameter value (may be empty).
        public let value: String

        /// Creates a pair.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Requested protocol version (major is always 3 for a parsed message; the minor is kept).
    public let protocolVersion: ProtocolVersion
    /// Parameters in wire order. Names and values are decoded as UTF-8; invalid sequences become
    /// U+FFFD (the server does not validate them at this point either; use them for display and routing).
    public let parameters: [Parameter]
    /// Size of the whole packet on the wire, length field included.
    public let byteCount: Int

    /// Creates a message (the parser fills `byteCount` from the wire).
    public init(protocolVersion: ProtocolVersion, parameters: [Parameter], byteCount: Int) {
        self.protocolVersion = protocolVersion
        self.parameters = parameters
        self.byteCount = byteCount
    }

    /// The value of the first parameter called `name`, if any.
    public func value(of name: String) -> String? {
        parameters.first { $0.name == name }?.value
    }

    /// The `user` parameter (PostgreSQL rejects a start-up without it).
    public var user: String? { value(of: "user") }
    /// The `database` parameter; PostgreSQL defaults it to the user name when absent.
    public var database: String? { value(of: "database") }
    /// The `application_name` parameter.
    public var applicationName: String? { value(of: "application_name") }
    /// The `replication` parameter (`true`, `database`, …) that marks a walsender connection.
    public var replication: String? { value(of: "replication") }
}
