/// One `members/<name>` znode as Switchman understood it.
public enum MemberEntry: Sendable, Hashable {
    /// The JSON decoded and names a connection address.
    case valid(ClusterMember)
    /// The JSON did not decode, or lacks a usable `conn_url`: kept out of routing, shown as invalid.
    case invalid(reason: String)

    /// The member, when valid.
    public var member: ClusterMember? {
        if case .valid(let member) = self { return member }
        return nil
    }

    /// Why the entry is unusable, when invalid.
    public var invalidReason: String? {
        if case .invalid(let reason) = self { return reason }
        return nil
    }
}
