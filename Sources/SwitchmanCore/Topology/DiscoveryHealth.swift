/// How far the ZooKeeper picture can be trusted right now.
public enum DiscoveryHealth: String, Sendable, Hashable, CaseIterable {
    /// Connected, watches armed, the picture is current.
    case live
    /// Connection lost, the session may still be alive: the last picture is kept.
    case reconnecting
    /// The session expired (or could not be kept): writes fail closed until a fresh picture is read.
    case expired
}
