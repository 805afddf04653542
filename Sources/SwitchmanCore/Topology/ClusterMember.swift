/// A Patroni member as read from its `members/<name>` znode.
public struct ClusterMember: Sendable, Hashable {
    /// The member name (the znode's name, Patroni's `name`).
    public let name: String
    /// Where PostgreSQL listens, from `conn_url` (`postgres://host:port/db`; port 5432 when absent).
    public let endpoint: Endpoint
    /// Patroni's REST address (`api_url`), if written.
    public let apiURL: String?
    /// The role the member reports for itself.
    public let role: MemberRole
    /// Patroni's `state`: `running`, `starting`, `stopped`, `crashed`, `creating replica` …
    public let state: String
    /// PostgreSQL timeline, if written.
    public let timeline: Int?
    /// `xlog_location`: on the leader its WAL write position, on a replica max(received, replayed).
    public let xlogLocation: UInt64?
    /// `replication_state` (`streaming`, `in archive recovery`), written by replicas of Patroni ≥ 3.0.
    public let replicationState: String?
    /// The member's tags.
    public let tags: MemberTags
    /// Patroni version (`version`), if written.
    public let version: String?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(
        name: String,
        endpoint: Endpoint,
        apiURL: String? = nil,
        role: MemberRole,
        state: String,
        timeline: Int? = nil,
        xlogLocation: UInt64? = nil,
        replicationState: String? = nil,
        tags: MemberTags = MemberTags(),
        version: String? = nil
    ) {
        self.name = name
        self.endpoint = endpoint
        self.apiURL = apiURL
        self.role = role
        self.state = state
        self.timeline = timeline
        self.xlogLocation = xlogLocation
        self.replicationState = replicationState
        self.tags = tags
        self.version = version
    }

    /// Whether Patroni reports PostgreSQL up (`state == "running"`).
    public var isRunning: Bool { state == "running" }
}
