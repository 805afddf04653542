/// The planner's output: one route per listener, and the reasons behind it.
public struct RoutePlan: Sendable, Equatable {
    /// Listener name → its route (every configured listener, static ones included).
    public let routes: [String: ListenerRoute]
    /// Cluster listener name → one row per member (sorted by name); static listeners have none.
    public let eligibility: [String: [MemberEligibility]]
    /// The member the `leader` znode names that still needs Switchman's SQL confirmation (valid data,
    /// not a standby leader, discovery not expired); `nil` when there is none or it is confirmed.
    public let leaderToConfirm: ClusterMember?
    /// The leader writes go to (confirmed, with its term's generation); `nil` while writes are held.
    public let writableLeader: RouteServer?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(
        routes: [String: ListenerRoute],
        eligibility: [String: [MemberEligibility]],
        leaderToConfirm: ClusterMember?,
        writableLeader: RouteServer?
    ) {
        self.routes = routes
        self.eligibility = eligibility
        self.leaderToConfirm = leaderToConfirm
        self.writableLeader = writableLeader
    }
}
