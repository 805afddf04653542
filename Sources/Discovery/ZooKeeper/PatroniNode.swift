/// One znode (or znode directory) of the Patroni layout that the watcher follows.
enum PatroniNode: Hashable, Sendable {
    /// `leader`
    case leader
    /// `status`
    case status
    /// `optime/leader` (older Patroni)
    case legacyOptime
    /// `sync`
    case sync
    /// `failover`: a requested switchover (or manual failover) Patroni has not finished yet
    case failover
    /// `members` (its children)
    case membersDirectory
    /// `members/<name>`
    case member(String)

    /// The single znodes read on every resync, besides the members directory.
    static let singles: [PatroniNode] = [.leader, .status, .legacyOptime, .sync, .failover]
}

/// Absolute znode paths of one cluster: `/<namespace>/<scope>/…`.
struct PatroniPaths: Sendable {
    /// `/<namespace>/<scope>`, no trailing slash.
    let base: String

    init(namespace: String, scope: String) {
        var prefix = namespace.trimmingSlashes
        if !prefix.isEmpty { prefix = "/" + prefix }
        base = prefix + "/" + scope.trimmingSlashes
    }

    func path(of node: PatroniNode) -> String {
        switch node {
        case .leader: base + "/leader"
        case .status: base + "/status"
        case .legacyOptime: base + "/optime/leader"
        case .sync: base + "/sync"
        case .failover: base + "/failover"
        case .membersDirectory: base + "/members"
        case .member(let name): base + "/members/" + name
        }
    }

    /// The node a watched path belongs to, if any.
    func node(at path: String) -> PatroniNode? {
        for node in PatroniNode.singles + [.membersDirectory] where path == self.path(of: node) {
            return node
        }
        let prefix = base + "/members/"
        if path.hasPrefix(prefix) {
            let name = String(path.dropFirst(prefix.count))
            if !name.isEmpty, !name.contains("/") { return .member(name) }
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingSlashes: String {
        var text = Substring(self)
        while text.hasPrefix("/") { text = text.dropFirst() }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text)
    }
}
