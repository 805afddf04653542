import SwitchmanCore

/// What the ZooKeeper watcher reports, in order, from its own delivery thread.
public enum DiscoveryEvent: Sendable, Equatable {
    /// A full snapshot of the cluster, sent after every change (coalesced: one per burst of reads),
    /// and after every (re)connect once the whole picture has been re-read.
    case topology(Topology)
    /// The session's health changed. `.live` always follows the `.topology` of a complete re-read;
    /// `.reconnecting` means the last picture still stands; `.expired` means it must not be trusted for
    /// writes until the next `.live`.
    case session(DiscoveryHealth, detail: String)
}
