public extension ProxyConfiguration {
    /// The keys a running process cannot change: a reload keeps their old values (and reports them
    /// through ``changesNeedingRestart(from:)``).
    static let restartOnlyKeys: Set<String> = ["threads", "stats", "cluster"]

    /// This reloaded configuration as a running process applies it over `old`: all of it, except
    /// the ``restartOnlyKeys``, which keep `old`'s values. A copy, not a rebuild field by field, so a
    /// field added later reloads without anyone listing it here.
    func applied(over old: ProxyConfiguration) -> ProxyConfiguration {
        var effective = self
        effective.threads = old.threads
        effective.stats = old.stats
        effective.cluster = old.cluster
        return effective
    }

    /// What differs from `old` that a SIGHUP reload cannot apply, one line per key for the log:
    /// `threads: 2 → 4`, `cluster.scope: a → b`, `cluster: added`. Secrets are reported as changed
    /// without their values. Empty when everything can be applied to the running process.
    func changesNeedingRestart(from old: ProxyConfiguration) -> [String] {
        var changes: [String] = []
        if threads != old.threads {
            changes.append("threads: \(Self.shown(old.threads)) → \(Self.shown(threads))")
        }
        switch (old.cluster, cluster) {
        case (nil, nil):
            break
        case (nil, _?):
            changes.append("cluster: added")
        case (_?, nil):
            changes.append("cluster: removed")
        case (let before?, let after?):
            changes += Self.clusterChanges(from: before, to: after)
        }
        return changes
    }

    /// Field-by-field differences of two cluster sections.
    private static func clusterChanges(from old: ClusterConfiguration, to new: ClusterConfiguration) -> [String] {
        var changes: [String] = []
        func compare<T: Equatable>(_ key: String, _ before: T, _ after: T, secret: Bool = false, show: (T) -> String) {
            guard before != after else { return }
            changes.append(secret ? "cluster.\(key): changed" : "cluster.\(key): \(show(before)) → \(show(after))")
        }
        let optional: (String?) -> String = { $0 ?? "none" }
        let hosts: ([Endpoint]) -> String = { $0.map(\.description).joined(separator: ",") }
        compare("scope", old.scope, new.scope) { $0 }
        compare("namespace", old.namespace, new.namespace) { $0 }
        compare("zookeeper.hosts", old.zookeeper.hosts, new.zookeeper.hosts, show: hosts)
        compare("zookeeper.session_timeout", old.zookeeper.sessionTimeout, new.zookeeper.sessionTimeout) { $0.humanReadable }
        compare("zookeeper.auth", old.zookeeper.auth, new.zookeeper.auth, secret: true, show: optional)
        compare("check.user", old.check.user, new.check.user) { $0 }
        compare("check.password", old.check.password, new.check.password, secret: true, show: optional)
        compare("check.passfile", old.check.passfile, new.check.passfile, show: optional)
        compare("check.database", old.check.database, new.check.database) { $0 }
        compare("check.interval", old.check.interval, new.check.interval) { $0.humanReadable }
        compare("check.timeout", old.check.timeout, new.check.timeout) { $0.humanReadable }
        compare("hold_timeout", old.holdTimeout, new.holdTimeout) { $0.humanReadable }
        compare("hold_max", old.holdMax, new.holdMax) { String($0) }
        return changes
    }

    /// `auto` for `nil` threads.
    private static func shown(_ threads: Int?) -> String {
        threads.map(String.init) ?? "auto"
    }
}
