/// What the route planner needs to know beyond the ZooKeeper picture.
public struct PromotionState: Sendable, Hashable {
    /// The member Switchman's SQL probe saw answer `pg_is_in_recovery() = false`, if any.
    /// It only counts while the `leader` znode names the same member.
    public let confirmedLeader: String?
    /// Whether the ZooKeeper picture is current, kept from before a disconnect, or expired.
    public let discovery: DiscoveryHealth
    /// An immediate switchover away from the leader is in progress (the caller bounds how long it
    /// believes this): new primary sessions wait, live ones are left to finish.
    public let switchoverInProgress: Bool
    /// ZooKeeper is away and `on_dcs_loss: verify` keeps the confirmed leader writable while its
    /// checks say it is the primary (the caller drops `confirmedLeader` the moment they do not), so
    /// an expired session does not hold writes by itself.
    public let verifiedThroughDCSLoss: Bool

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(confirmedLeader: String? = nil, discovery: DiscoveryHealth = .live, switchoverInProgress: Bool = false,
                verifiedThroughDCSLoss: Bool = false) {
        self.confirmedLeader = confirmedLeader
        self.discovery = discovery
        self.switchoverInProgress = switchoverInProgress
        self.verifiedThroughDCSLoss = verifiedThroughDCSLoss
    }
}
