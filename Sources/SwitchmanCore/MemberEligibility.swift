/// Whether one member may receive one listener's sessions, and why not: a row of the stats page.
public struct MemberEligibility: Sendable, Hashable {
    /// The verdict, as the stats page shows it.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// In the route.
        case up = "UP"
        /// Unusable: invalid member data, PostgreSQL not running.
        case down = "DOWN"
        /// Healthy enough but kept out by a rule: lag, tag, role, not (yet) the confirmed leader.
        case excluded = "EXCLUDED"
        /// Drained by an operator: no new sessions, open ones stay.
        case drain = "DRAIN"
        /// In maintenance (set by an operator): drained, and not reported DOWN whatever it answers.
        case maint = "MAINT"
    }

    /// The member name.
    public let member: String
    /// In, out, or kept out.
    public let status: Status
    /// Human-readable why (`lag 20MB > 16MB`, `noloadbalance`, `not confirmed`); `nil` when plainly up.
    public let reason: String?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(member: String, status: Status, reason: String? = nil) {
        self.member = member
        self.status = status
        self.reason = reason
    }
}
