import Foundation

/// A node's answer to Patroni's `GET /patroni` (the same document the health endpoints return):
/// what the node itself says about its PostgreSQL, read as a second opinion next to ZooKeeper.
///
/// Every field is optional: Patroni leaves keys out (`pending_restart` appears only when true,
/// `xlog` carries `location` on a primary and `received_location`/`replayed_location` on a
/// replica), and fields of the wrong type are read as absent. Unknown fields are ignored.
public struct PatroniStatus: Sendable, Hashable {
    /// Why a body is not a status document.
    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// Not JSON at all.
        case invalidJSON(byteCount: Int)
        /// JSON, but not an object.
        case notAnObject

        /// The reason in words.
        public var description: String {
            switch self {
            case .invalidJSON(let count): "invalid JSON (\(count) bytes)"
            case .notAnObject: "status document is not a JSON object"
            }
        }
    }

    /// `state`: `running`, `starting`, `stopped`, `crashed`, `restarting` …
    public var state: String?
    /// `role`: `master` (3.x) / `primary` (4.x), `replica`, `standby_leader` …
    public var role: MemberRole?
    /// `timeline`: the PostgreSQL timeline.
    public var timeline: Int?
    /// `server_version`: PostgreSQL's version number (`150010` for 15.10).
    public var serverVersion: Int?
    /// `pending_restart`: a changed parameter waits for a restart (Patroni writes it only when true).
    public var pendingRestart: Bool?
    /// `xlog.location`: the primary's WAL write position.
    public var xlogLocation: UInt64?
    /// `xlog.received_location`: WAL a replica has received.
    public var receivedLocation: UInt64?
    /// `xlog.replayed_location`: WAL a replica has replayed.
    public var replayedLocation: UInt64?
    /// `xlog.paused`: replay is paused on a replica (`pg_wal_replay_pause()`).
    public var replayPaused: Bool?
    /// `replication_state`: `streaming`, `in archive recovery` (replicas, Patroni ≥ 3.0).
    public var replicationState: String?

    /// Creates the value from its fields (all absent by default).
    public init(state: String? = nil, role: MemberRole? = nil, timeline: Int? = nil, serverVersion: Int? = nil,
                pendingRestart: Bool? = nil, xlogLocation: UInt64? = nil, receivedLocation: UInt64? = nil,
                replayedLocation: UInt64? = nil, replayPaused: Bool? = nil, replicationState: String? = nil) {
        self.state = state
        self.role = role
        self.timeline = timeline
        self.serverVersion = serverVersion
        self.pendingRestart = pendingRestart
        self.xlogLocation = xlogLocation
        self.receivedLocation = receivedLocation
        self.replayedLocation = replayedLocation
        self.replayPaused = replayPaused
        self.replicationState = replicationState
    }

    /// Decodes a `GET /patroni` body with the same lenient readers as the member znodes.
    ///
    /// - Parameter json: the response body exactly as received.
    public init(json: some Sequence<UInt8>) throws(ParseError) {
        let data = Data(json)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw .invalidJSON(byteCount: data.count)
        }
        guard let fields = object as? [String: Any] else { throw .notAnObject }
        let xlog = fields["xlog"] as? [String: Any] ?? [:]
        self.init(
            state: fields["state"] as? String,
            role: (fields["role"] as? String).map { MemberRole(patroni: $0) },
            timeline: JSONNumbers.uint64(fields["timeline"]).flatMap { Int(exactly: $0) },
            serverVersion: JSONNumbers.uint64(fields["server_version"]).flatMap { Int(exactly: $0) },
            pendingRestart: fields["pending_restart"].map { JSONNumbers.truthy($0) },
            xlogLocation: JSONNumbers.uint64(xlog["location"]),
            receivedLocation: JSONNumbers.uint64(xlog["received_location"]),
            replayedLocation: JSONNumbers.uint64(xlog["replayed_location"]),
            replayPaused: xlog["paused"].map { JSONNumbers.truthy($0) },
            replicationState: fields["replication_state"] as? String
        )
    }
}
