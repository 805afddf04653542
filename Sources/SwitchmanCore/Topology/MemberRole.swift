/// The `role` a Patroni member writes into its own znode.
///
/// Patroni 3.x writes `master` for the leader, 4.x writes `primary`; both map to ``primary``.
/// Member data lags by up to `loop_wait`: the `leader` znode, not this role, says who leads.
public enum MemberRole: Sendable, Hashable, CustomStringConvertible {
    /// `master` (Patroni 3.x) or `primary` (4.x).
    case primary
    /// `replica`: a streaming (or restoring) standby of the leader.
    case replica
    /// `standby_leader`: the leader of a standby cluster; read-only, never receives writes.
    case standbyLeader
    /// `demoted`: a former leader on its way down.
    case demoted
    /// `promoted`: a replica on its way up (promotion not finished).
    case promoted
    /// `uninitialized`: no data directory yet.
    case uninitialized
    /// Any role this code does not know, kept verbatim.
    case other(String)

    /// Maps Patroni's spelling (case-insensitive) to a role.
    public init(patroni value: String) {
        switch value.lowercased() {
        case "master", "primary": self = .primary
        case "replica": self = .replica
        case "standby_leader", "standby-leader": self = .standbyLeader
        case "demoted": self = .demoted
        case "promoted": self = .promoted
        case "uninitialized": self = .uninitialized
        default: self = .other(value)
        }
    }

    /// Patroni 4.x's spelling (`primary`, `standby_leader` …), or the unknown value verbatim.
    public var description: String {
        switch self {
        case .primary: "primary"
        case .replica: "replica"
        case .standbyLeader: "standby_leader"
        case .demoted: "demoted"
        case .promoted: "promoted"
        case .uninitialized: "uninitialized"
        case .other(let value): value
        }
    }
}
