/// Turns the ZooKeeper picture, the promotion state and the listeners into routes: a pure function.
///
/// Rules:
/// - `primary` listeners go to the leader only, and only when the `leader` znode names it, its member
///   data is valid, it is not a `standby_leader`, Switchman's SQL probe confirmed it, and the session has
///   not expired; otherwise the route holds new sessions (`.hold`) with no server, so every session
///   of an earlier leader term is closed.
/// - `replica` listeners go to members that are `running`, report role `replica`, are not the leader,
///   carry no `noloadbalance` tag (a standby cluster's `standby_leader` counts as a replica), match the listener's `tags`, `sync_only` and `require_streaming`,
///   pass Switchman's own SQL check (not failing, in recovery) and are admitted under `max_lag` by
///   their damped ``ReadAdmission`` (without checks: ZooKeeper's byte lag; unknown lag counts as too
///   much when `max_lag` is set). A replica out for lag keeps its open sessions (`draining`) unless
///   the listener says `close_on_lag`; so does one whose check is failing. With none left: `fallback: primary` routes to the writable leader (or holds
///   while there is none), `fallback: none` refuses. When replicas are eligible again, the leader a
///   fallback sent reads to keeps them (`draining`) until its term ends: no new read goes to it. Reads keep using the last picture while the
///   session is reconnecting or expired: only writes fail closed.
/// - `static` listeners route to their configured servers (generation 0, sessions kept on reload).
/// - Operator controls (``OperatorControls``): a drained member takes no new replica sessions and keeps
///   its open ones (`DRAIN`); `maint` is the same but reported `MAINT` whatever its health says. The
///   leader znode still wins: a drained or maint leader gets the writes, and its row says so. A paused
///   listener holds new sessions (its servers stay in the route, so open sessions stay).
public enum RoutePlanner {
    /// Computes every listener's route.
    ///
    /// - Parameters:
    ///   - listeners: the configured listeners.
    ///   - topology: the last picture read from ZooKeeper; `nil` before the first one.
    ///   - promotion: the SQL-confirmed leader and how trustworthy the picture is.
    ///   - health: what Switchman's own checks say of each member; `nil` when it runs none (lag then
    ///     comes from ZooKeeper's positions).
    ///   - controls: what operators set at runtime (drained members, paused listeners).
    ///   - generations: route generations, carried from the previous plan.
    public static func plan(
        listeners: [ListenerConfiguration],
        topology: Topology?,
        promotion: PromotionState,
        health: HealthPicture? = nil,
        controls: OperatorControls = OperatorControls(),
        generations: inout RouteGenerations
    ) -> RoutePlan {
        let verdict = leaderVerdict(topology: topology, promotion: promotion)
        let writableLeader: RouteServer?
        if case .writable(let leader) = verdict {
            writableLeader = generations.leaderTerm(name: leader.name, endpoint: leader.endpoint)
        } else {
            generations.endLeaderTerm()
            writableLeader = nil
        }
        generations.retainReplicaListeners(Set(listeners.filter { $0.role == .replica }.map(\.name)))

        var routes: [String: ListenerRoute] = [:]
        var eligibility: [String: [MemberEligibility]] = [:]
        for listener in listeners {
            switch listener.role {
            case .static:
                routes[listener.name] = staticRoute(listener)
            case .primary:
                if let leader = writableLeader, promotion.switchoverInProgress {
                    // Patroni is about to stop this leader's PostgreSQL: hold new sessions, keep live ones
                    // (their server stays in the route) until the leader znode moves or the switchover ends.
                    let target = topology?.pendingSwitchover?.to.map { " to \($0)" } ?? ""
                    routes[listener.name] = ListenerRoute(
                        state: .hold(reason: "switchover from \(leader.name)\(target) in progress"), servers: [leader],
                        closesStaleSessions: true)
                } else {
                    routes[listener.name] = primaryRoute(verdict: verdict, leader: writableLeader)
                }
                if let topology {
                    eligibility[listener.name] = primaryEligibility(topology: topology, verdict: verdict, controls: controls)
                }
            case .replica:
                let (route, rows) = replicaRoute(
                    listener, topology: topology, verdict: verdict, leader: writableLeader, health: health, controls: controls,
                    generations: &generations
                )
                routes[listener.name] = route
                if let rows { eligibility[listener.name] = rows }
            }
            if controls.isPaused(listener.name), let route = routes[listener.name] {
                routes[listener.name] = paused(route)
            }
        }
        let toConfirm: ClusterMember?
        if case .unconfirmed(let member) = verdict { toConfirm = member } else { toConfirm = nil }
        return RoutePlan(routes: routes, eligibility: eligibility, leaderToConfirm: toConfirm, writableLeader: writableLeader)
    }

    /// Whether writes may flow, and to whom.
    enum LeaderVerdict: Equatable {
        /// Named by the `leader` znode, confirmed, not a standby leader, session alive.
        case writable(ClusterMember)
        /// Named and routable but not (yet) confirmed over SQL.
        case unconfirmed(ClusterMember)
        /// Writes held for this reason.
        case held(String)

        var holdReason: String? {
            switch self {
            case .writable: nil
            case .unconfirmed(let member): "leader \(member.name) not yet confirmed (promotion in progress)"
            case .held(let reason): reason
            }
        }
    }

    static func leaderVerdict(topology: Topology?, promotion: PromotionState) -> LeaderVerdict {
        guard let topology else { return .held("no picture from ZooKeeper yet") }
        if promotion.discovery == .expired && !(promotion.verifiedThroughDCSLoss && promotion.confirmedLeader != nil) {
            return .held("ZooKeeper session expired: writes held until a fresh picture is read")
        }
        guard let name = topology.leaderName else { return .held("no leader in ZooKeeper") }
        switch topology.members[name] {
        case nil:
            return .held("leader \(name) has no member data")
        case .invalid(let reason)?:
            return .held("leader \(name) has invalid member data: \(reason)")
        case .valid(let member)?:
            if member.role == .standbyLeader {
                return .held("leader \(name) is a standby leader (standby cluster): never writable")
            }
            return promotion.confirmedLeader == name ? .writable(member) : .unconfirmed(member)
        }
    }

    /// A paused listener's route: new sessions wait; its servers stay, so its open sessions do too.
    static func paused(_ route: ListenerRoute) -> ListenerRoute {
        let reason: String
        switch route.state {
        case .ready: reason = "paused by an operator"
        case .hold(let why), .unavailable(let why): reason = "paused by an operator (and \(why))"
        }
        return ListenerRoute(state: .hold(reason: reason), servers: route.servers, closesStaleSessions: route.closesStaleSessions,
                             draining: route.draining)
    }

    static func staticRoute(_ listener: ListenerConfiguration) -> ListenerRoute {
        let servers = listener.servers.map { RouteServer(name: $0.description, endpoint: $0) }
        return ListenerRoute(
            state: servers.isEmpty ? .unavailable(reason: "no servers configured") : .ready,
            servers: servers,
            closesStaleSessions: false
        )
    }

    static func primaryRoute(verdict: LeaderVerdict, leader: RouteServer?) -> ListenerRoute {
        if let leader {
            return ListenerRoute(state: .ready, servers: [leader], closesStaleSessions: true)
        }
        return ListenerRoute(state: .hold(reason: verdict.holdReason ?? "no writable leader"), servers: [], closesStaleSessions: true)
    }

    static func primaryEligibility(topology: Topology, verdict: LeaderVerdict, controls: OperatorControls) -> [MemberEligibility] {
        topology.members.keys.sorted().map { name in
            let entry = topology.members[name]
            let admin = controls.state(of: name)
            if admin == .maint && name != topology.leaderName {
                return MemberEligibility(member: name, status: .maint, reason: maintReason)
            }
            if let reason = entry?.invalidReason {
                return MemberEligibility(member: name, status: .down, reason: "invalid member data: \(reason)")
            }
            if name == topology.leaderName {
                switch verdict {
                case .writable:
                    // ZooKeeper's word on roles outranks an operator's drain: the leader takes the writes.
                    switch admin {
                    case .ready: return MemberEligibility(member: name, status: .up)
                    case .drain: return MemberEligibility(member: name, status: .up, reason: "drained, but leader: writes go to it")
                    case .maint: return MemberEligibility(member: name, status: .up, reason: "in maintenance, but leader: writes go to it")
                    }
                case .unconfirmed: return MemberEligibility(member: name, status: .excluded, reason: "not confirmed")
                case .held(let reason): return MemberEligibility(member: name, status: .excluded, reason: reason)
                }
            }
            if let member = entry?.member, !member.isRunning {
                return MemberEligibility(member: name, status: .down, reason: notRunning(member))
            }
            return MemberEligibility(member: name, status: .excluded, reason: "not the leader")
        }
    }

    static func replicaRoute(
        _ listener: ListenerConfiguration,
        topology: Topology?,
        verdict: LeaderVerdict,
        leader: RouteServer?,
        health: HealthPicture?,
        controls: OperatorControls = OperatorControls(),
        generations: inout RouteGenerations
    ) -> (ListenerRoute, [MemberEligibility]?) {
        guard let topology else {
            _ = generations.replicaSet(listener: listener.name, members: [])
            return (ListenerRoute(state: .hold(reason: "no picture from ZooKeeper yet"), servers: [], closesStaleSessions: true), nil)
        }
        var rows: [MemberEligibility] = []
        var eligible: [(name: String, endpoint: Endpoint)] = []
        var lagging: Set<String> = []
        for name in topology.members.keys.sorted() {
            let (row, keepsSessions) = operatorOverride(
                replicaEligibility(name: name, topology: topology, listener: listener, health: health),
                admin: controls.state(of: name), isLeader: name == topology.leaderName)
            if let member = topology.members[name]?.member {
                if row.status == .up { eligible.append((name, member.endpoint)) }
                if keepsSessions { lagging.insert(name) }
            }
            rows.append(row)
        }
        var (servers, draining) = generations.replicaSet(listener: listener.name, members: eligible, keeping: lagging)
        if !servers.isEmpty {
            // Replicas are back after a fallback (a drained replica set ready, one within max_lag
            // again): the leader takes no new reads, but those it already serves stay for its term.
            if let term = generations.fallbackTerm(listener: listener.name) { draining.append(term) }
            return (ListenerRoute(state: .ready, servers: servers, closesStaleSessions: true, draining: draining), rows)
        }
        switch listener.fallback {
        case .none:
            return (ListenerRoute(state: .unavailable(reason: "no eligible replica"), servers: [], closesStaleSessions: true,
                                  draining: draining), rows)
        case .primary:
            guard let leader else {
                let why = verdict.holdReason ?? "no writable leader"
                return (ListenerRoute(state: .hold(reason: "no eligible replica and \(why)"), servers: [], closesStaleSessions: true,
                                      draining: draining), rows)
            }
            rows = rows.map { $0.member == leader.name ? MemberEligibility(member: $0.member, status: .up, reason: "fallback: leader") : $0 }
            generations.fellBack(listener: listener.name, to: leader)
            return (ListenerRoute(state: .ready, servers: [leader], closesStaleSessions: true, draining: draining), rows)
        }
    }

    /// One member's row for a replica listener, and whether its open sessions stay although it takes
    /// no new ones: out for lag (unless the listener says `close_on_lag`), or for a failing check
    /// (a slow node's sessions are its clients' business; a node that is really down ends them itself).
    static func replicaEligibility(
        name: String, topology: Topology, listener: ListenerConfiguration, health: HealthPicture?
    ) -> (MemberEligibility, keepsSessions: Bool) {
        func out(_ status: MemberEligibility.Status, _ reason: String) -> (MemberEligibility, keepsSessions: Bool) {
            (MemberEligibility(member: name, status: status, reason: reason), false)
        }
        guard let entry = topology.members[name] else { return out(.down, "no member data") }
        guard case .valid(let member) = entry else { return out(.down, "invalid member data: \(entry.invalidReason ?? "")") }
        // A standby cluster's leader is read-only like its replicas: a replica listener serves it.
        let standbyLeader = member.role == .standbyLeader
        if name == topology.leaderName && !standbyLeader { return out(.excluded, "leader") }
        if !member.isRunning { return out(.down, notRunning(member)) }
        if member.role != .replica && !standbyLeader { return out(.excluded, "role \(member.role)") }
        if member.tags.noloadbalance { return out(.excluded, "noloadbalance") }
        if let mismatch = tagMismatch(member.tags, wanted: listener.tags) { return out(.excluded, mismatch) }
        if listener.syncOnly && !topology.isSyncStandby(name) { return out(.excluded, "not a synchronous standby (sync_only)") }
        let checked = health?.members[name]
        if let checked {
            if !checked.check.passing {
                return (MemberEligibility(member: name, status: .down, reason: "SQL check failing: \(checked.check.lastError ?? "no answer")"), true)
            }
            if checked.splitBrain || (standbyLeader && checked.reading?.inRecovery == false) {
                return out(.excluded, "split brain: answers not in recovery, but the leader znode names \(topology.leaderName ?? "nobody")")
            }
        }
        if listener.requireStreaming {
            // ZooKeeper's `replication_state` (Patroni ≥ 3.0) until Switchman's own check has read the receiver.
            let streaming = checked?.reading.map(\.isStreaming) ?? (member.replicationState == "streaming")
            if !streaming {
                let seen = checked?.reading.map { $0.walReceiverStatus ?? "no WAL receiver" } ?? member.replicationState ?? "replication state unknown"
                return out(.excluded, "not streaming (\(seen); require_streaming)")
            }
        }
        guard let limit = listener.maxLag else { return (MemberEligibility(member: name, status: .up), false) }
        if let health {
            guard let admission = health.admission(listener: listener.name, member: name), let admitted = admission.admitted else {
                return (MemberEligibility(member: name, status: .excluded, reason: "lag not measured yet"), false)
            }
            if admitted { return (MemberEligibility(member: name, status: .up), false) }
            return (MemberEligibility(member: name, status: .excluded, reason: admission.reason ?? "lag over \(limit.description)"),
                    !listener.closeOnLag)
        }
        // No checks of Switchman's own: ZooKeeper's positions, bytes only.
        guard let bytes = limit.bytes else {
            return (MemberEligibility(member: name, status: .excluded, reason: "replay lag unknown (no SQL checks)"), false)
        }
        guard let lag = topology.lag(of: name) else {
            return (MemberEligibility(member: name, status: .excluded, reason: "lag unknown"), false)
        }
        if lag > bytes {
            return (MemberEligibility(member: name, status: .excluded, reason: "lag \(ByteCount.format(lag, against: bytes))"),
                    !listener.closeOnLag)
        }
        return (MemberEligibility(member: name, status: .up), false)
    }

    static let maintReason = "in maintenance (set by an operator)"

    /// A replica listener's row with the operator's state applied: `maint` always shows MAINT, `drain`
    /// turns an UP row into DRAIN (a row already out keeps its reason, noting the drain); either keeps
    /// the member's open sessions. The leader's row is left alone (the primary listener says it leads).
    static func operatorOverride(
        _ computed: (MemberEligibility, keepsSessions: Bool), admin: MemberAdminState, isLeader: Bool
    ) -> (MemberEligibility, keepsSessions: Bool) {
        let (row, keepsSessions) = computed
        if isLeader && row.status == .excluded { return computed }
        switch admin {
        case .ready:
            return computed
        case .maint:
            return (MemberEligibility(member: row.member, status: .maint, reason: maintReason), true)
        case .drain:
            if row.status == .up { return (MemberEligibility(member: row.member, status: .drain, reason: "drained by an operator"), true) }
            return (MemberEligibility(member: row.member, status: row.status, reason: (row.reason ?? "") + "; drained by an operator"),
                    keepsSessions)
        }
    }

    /// Why `tags` do not match a listener's `tags:` filter, or `nil` when they do.
    static func tagMismatch(_ tags: MemberTags, wanted: [String: String]) -> String? {
        for key in wanted.keys.sorted() {
            let value: String?
            switch key {
            case "nofailover": value = String(tags.nofailover)
            case "noloadbalance": value = String(tags.noloadbalance)
            case "nosync": value = String(tags.nosync)
            case "nostream": value = String(tags.nostream)
            default: value = tags.other[key]
            }
            if value != wanted[key] { return "tag \(key)=\(value ?? "unset"), wanted \(wanted[key] ?? "")" }
        }
        return nil
    }

    private static func notRunning(_ member: ClusterMember) -> String {
        member.state.isEmpty ? "not running (no state)" : "not running (\(member.state))"
    }
}

/// Byte counts as operators read them: `512B`, `1.5kB`, `20MB`, `1GB` (powers of 1024, like Patroni's `16MB`).
enum ByteCount {
    /// `measured > limit`, each formatted; exact byte counts when both would round alike ("16MB > 16MB").
    static func format(_ measured: UInt64, against limit: UInt64) -> String {
        var (shown, shownLimit) = (format(measured), format(limit))
        if shown == shownLimit { (shown, shownLimit) = ("\(measured)B", "\(limit)B") }
        return "\(shown) > \(shownLimit)"
    }

    static func format(_ bytes: UInt64) -> String {
        let units: [(String, UInt64)] = [("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)]
        for (unit, size) in units where bytes >= size {
            if bytes % size == 0 { return "\(bytes / size)\(unit)" }
            let tenths = (bytes * 10 + size / 2) / size
            return tenths % 10 == 0 ? "\(tenths / 10)\(unit)" : "\(tenths / 10).\(tenths % 10)\(unit)"
        }
        return "\(bytes)B"
    }
}
