/// A member's `tags` object.
///
/// Patroni writes the boolean tags only when they are true; anything else under `tags`
/// (`clonefrom`, `replicatefrom`, `failover_priority`, user tags) is kept in ``other`` as text.
public struct MemberTags: Sendable, Hashable {
    /// `nofailover`: never promoted by Patroni.
    public let nofailover: Bool
    /// `noloadbalance`: never send reads there.
    public let noloadbalance: Bool
    /// `nosync`: never chosen as synchronous standby.
    public let nosync: Bool
    /// `nostream`: replicates from the WAL archive only.
    public let nostream: Bool
    /// Every other tag, its JSON value rendered as text (`true`, `2`, `pg-1`).
    public let other: [String: String]

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(
        nofailover: Bool = false,
        noloadbalance: Bool = false,
        nosync: Bool = false,
        nostream: Bool = false,
        other: [String: String] = [:]
    ) {
        self.nofailover = nofailover
        self.noloadbalance = noloadbalance
        self.nosync = nosync
        self.nostream = nostream
        self.other = other
    }
}
