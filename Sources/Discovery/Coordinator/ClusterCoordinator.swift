import Logging
import PosixIO
import Reactor
import SwitchmanCore

/// Turns what ZooKeeper says into routes, on one event loop: keeps the last topology, confirms each
/// new leader over SQL (`pg_is_in_recovery()` must be false) before writes go to it, plans routes
/// with ``RoutePlanner``, publishes them, and keeps the recent events for the stats page.
///
/// Everything runs on `loop`; ``handle(_:)`` and ``view(_:)`` may be called from any thread.
public final class ClusterCoordinator: @unchecked Sendable {
    // @unchecked: all mutable state is touched on `loop`'s thread only.

    /// Publishes routes to the data plane; the completion receives the sessions closed by the change.
    public typealias Publisher = @Sendable ([String: ListenerRoute], @escaping @Sendable (Int) -> Void) -> Void

    let loop: EventLoop
    let logger: Logger
    private let publish: Publisher
    var listeners: [ListenerConfiguration]
    let cluster: ClusterConfiguration

    /// The topology as ZooKeeper last said it (`topology` is it with Patroni's member-znode gaps bridged).
    private var rawTopology: Topology?
    var topology: Topology?
    private var gapBridge = MemberGapBridge()
    /// When the current `failover` znode was first seen (monotonic), and the timer that ends its hold.
    private var switchoverSeenAt: UInt64?
    private var switchoverTimer: TimerID?
    private var bridgeTimer: TimerID?
    var health: DiscoveryHealth?
    var confirmedLeader: String?
    var confirmedAt: Double?
    private var generations = RouteGenerations()
    private var plan: RoutePlan?
    /// Route publishes not yet applied by every event loop, and what waits for them
    /// (``control(_:completion:)``'s answer).
    private var publishesInFlight = 0
    private var appliedWaiters: [() -> Void] = []
    /// Drained members and paused listeners, as operators set them (``control(_:completion:)``).
    private(set) var controls = OperatorControls()

    /// Confirms each new leader over SQL before writes go to it (set in init: it calls back here).
    private var confirmer: PromotionConfirmer!

    var leaderName: String?
    private var leaderSince: Double?
    /// Monotonic time the current leader znode was first seen, to measure time to confirmation.
    var leaderSeenAt: UInt64 = 0
    /// The open leader change: old leader, new leader, sessions closed so far.
    private var pendingChange: (old: String?, new: String?, closed: Int, eventIndex: Int?)?

    private var lastEventTime: Double?
    private var leaderChanges: UInt64 = 0
    private var expiries: UInt64 = 0
    private var disconnects: UInt64 = 0
    private var events: [StatsEvent] = []
    private var memberStatus: [String: (status: BackendStatus, since: Double)] = [:]
    /// Each leader change's steps, for the failover ledger.
    private var leaderChangeLog = LeaderChangeLog()
    private static let eventLimit = 100

    /// Switchman's own checks of every member (`nil`: none, lag comes from ZooKeeper).
    var memberChecks: MemberChecking?
    /// What those checks found, and each lag-limited listener's damped admission.
    var healthPicture: HealthPicture
    /// Each member's last Patroni REST answer.
    var restOutcomes: [String: (outcome: RESTOutcome, time: Double)] = [:]
    /// Times the leader znode's member answered "in recovery" after it was confirmed.
    var leaderDisagreements: UInt64 = 0
    /// Times writes were cut while ZooKeeper was away because the leader's check said otherwise.
    var verificationCuts: UInt64 = 0
    /// REST requests to each member that got no answer, in a row.
    var restFailures: [String: Int] = [:]
    /// When the current leader was confirmed (monotonic).
    var confirmedAtTick: UInt64 = 0
    /// The current leader's long stay in recovery was reported.
    var stuckPromotionReported = false

    /// With the real checks: SQL promotion probes and a ``MemberMonitor`` for every member.
    public convenience init(listeners: [ListenerConfiguration], cluster: ClusterConfiguration, loop: EventLoop, logger: Logger,
                            resolver: AddressResolver, publish: @escaping Publisher) {
        self.init(listeners: listeners, cluster: cluster, loop: loop, logger: logger,
                  check: SQLPromotionCheck(loop: loop, resolver: resolver, credentials: cluster.check), publish: publish)
        memberChecks = MemberMonitor(
            loop: loop, resolver: resolver, credentials: cluster.check,
            onSQL: { [unowned self] name, outcome, run in self.memberChecked(name, outcome, run: run) },
            onREST: { [unowned self] name, outcome in self.memberAnsweredREST(name, outcome) })
    }

    /// With the promotion check given (tests: a fake).
    public init(listeners: [ListenerConfiguration], cluster: ClusterConfiguration, loop: EventLoop, logger: Logger,
                check: PromotionCheck, memberChecks: MemberChecking? = nil, publish: @escaping Publisher) {
        self.memberChecks = memberChecks
        healthPicture = HealthPicture(counting: cluster.check.counting)
        self.listeners = listeners
        self.cluster = cluster
        self.loop = loop
        self.logger = logger
        self.publish = publish
        confirmer = PromotionConfirmer(loop: loop, check: check, interval: cluster.check.fastInterval) { [unowned self] member in
            self.confirm(member)
        }
    }

    /// Feeds one discovery event (from the watcher's thread).
    public func handle(_ event: DiscoveryEvent) {
        loop.execute { self.apply(event) }
    }

    /// New listener settings after a reload (cluster settings need a restart).
    public func reconfigure(listeners: [ListenerConfiguration]) {
        loop.execute {
            self.listeners = listeners
            self.replan()
        }
    }

    /// Publishes the initial routes (every cluster listener holds until the first picture).
    public func start() {
        loop.execute { self.replan() }
    }

    // MARK: - Events

    private func apply(_ event: DiscoveryEvent) {
        let now = SystemClock.wallSeconds()
        lastEventTime = now
        switch event {
        case .topology(let fresh):
            let previousLeader = leaderName
            rawTopology = fresh
            bridgeGaps()
            if fresh.leaderName != previousLeader {
                leaderChanged(from: previousLeader, to: fresh.leaderName, now: now)
            }
            checkMembers()
        case .session(let state, let detail):
            let previous = health
            health = state
            switch state {
            case .live:
                record(.zookeeper, "ZooKeeper session live\(detail.isEmpty ? "" : ": \(detail)")", now: now)
            case .reconnecting:
                disconnects += 1
                record(.zookeeper, "ZooKeeper connection lost, reconnecting (routing on the last picture)\(detail.isEmpty ? "" : ": \(detail)")", now: now)
            case .expired:
                expiries += 1
                if verifiesThroughDCSLoss && confirmedLeader != nil {
                    record(.zookeeper, "ZooKeeper session expired; writes stay with \(confirmedLeader ?? "") while its SQL check and Patroni REST keep saying it is the primary (on_dcs_loss: verify)\(detail.isEmpty ? "" : ": \(detail)")", now: now)
                } else {
                    // A new session must prove the leader again: writes fail closed until then.
                    confirmedLeader = nil
                    confirmedAt = nil
                    record(.zookeeper, "ZooKeeper session expired; writes held until a fresh picture and a confirmed leader\(detail.isEmpty ? "" : ": \(detail)")", now: now)
                }
            }
            if previous != state {
                logger.info("zookeeper session \(state.rawValue)", metadata: ["detail": "\(detail)"])
                dcsReachabilityChanged()
            }
        }
        replan()
    }

    private func leaderChanged(from old: String?, to new: String?, now: Double) {
        leaderName = new
        leaderSince = now
        leaderSeenAt = loop.now
        stuckPromotionReported = false
        leaderChanges += 1
        leaderChangeLog.leaderChanged(from: old, to: new, at: now)
        if confirmedLeader != new {
            confirmedLeader = nil
            confirmedAt = nil
        }
        let message: String
        switch (old, new) {
        case (nil, let n?): message = "leader znode: \(n) (was none); writes held until confirmed"
        case (let o?, nil): message = "leader znode gone (was \(o)); writes held (failover in progress)"
        case (let o?, let n?): message = "leader znode: \(o) → \(n); writes held until \(n) is confirmed"
        case (nil, nil): message = "no leader"
        }
        events.insert(
            StatsEvent(time: now, kind: .leaderChange, message: message,
                       leaderChange: LeaderChangeDetails(oldLeader: old, newLeader: new, generation: generations.lastLeaderGeneration, sessionsClosed: 0)),
            at: 0)
        trimEvents()
        // Carry the old leader across a leaderless gap: "pg0 → (none) → pg1" is one change for the log.
        let originalOld = pendingChange?.old ?? old
        pendingChange = (originalOld, new, pendingChange?.closed ?? 0, 0)
        logger.notice("\(message)", metadata: ["old_leader": "\(old ?? "-")", "new_leader": "\(new ?? "-")"])
    }

    /// Fills the member znodes Patroni deletes and re-creates for a moment (see ``MemberGapBridge``),
    /// and re-plans when a bridged entry's grace runs out.
    private func bridgeGaps() {
        guard let rawTopology else { return }
        let (filled, _, expires) = gapBridge.bridge(rawTopology, now: loop.now)
        topology = filled
        if let bridgeTimer { loop.cancel(bridgeTimer) }
        bridgeTimer = nil
        if let expires {
            bridgeTimer = loop.schedule(atNanoseconds: expires &+ 1) { [weak self] in
                guard let self else { return }
                self.bridgeTimer = nil
                self.bridgeGaps()
                self.replan()
            }
        }
    }

    // MARK: - Planning

    /// Whether an immediate switchover away from the current leader is under way; believed for at
    /// most `hold_timeout` after the `failover` znode appeared, so a stuck znode cannot hold writes for ever.
    private func switchoverInProgress() -> Bool {
        guard let pending = topology?.pendingSwitchover, !pending.scheduled,
              pending.from == nil || pending.from == topology?.leaderName else {
            switchoverSeenAt = nil
            leaderChangeLog.switchoverCleared()
            return false
        }
        let seen = switchoverSeenAt ?? loop.now
        if switchoverSeenAt == nil {
            switchoverSeenAt = seen
            leaderChangeLog.switchoverRequested(at: SystemClock.wallSeconds())
            record(.leaderChange, "switchover requested\(pending.from.map { " from \($0)" } ?? "")\(pending.to.map { " to \($0)" } ?? ""): new primary sessions wait", now: SystemClock.wallSeconds())
            logger.notice("switchover requested; new primary sessions wait for the new leader",
                          metadata: ["from": "\(pending.from ?? "-")", "to": "\(pending.to ?? "-")"])
            switchoverTimer = loop.schedule(after: cluster.holdTimeout) { [weak self] in self?.replan() }
        }
        return loop.now &- seen < cluster.holdTimeout.nanoseconds
    }

    func replan() {
        let switching = switchoverInProgress()
        if !switching, let switchoverTimer {
            loop.cancel(switchoverTimer)
            self.switchoverTimer = nil
        }
        let promotion = PromotionState(
            confirmedLeader: confirmedLeader, discovery: health ?? .live, switchoverInProgress: switching,
            verifiedThroughDCSLoss: verifiesThroughDCSLoss && dcsLost)
        let fresh = RoutePlanner.plan(
            listeners: listeners, topology: topology, promotion: promotion, health: memberChecks == nil ? nil : healthPicture,
            controls: controls, generations: &generations)
        let changed = plan?.routes != fresh.routes
        plan = fresh
        if let generation = fresh.writableLeader?.generation { leaderChangeLog.lastWritableGeneration = generation }
        trackMemberStatus(fresh)
        if changed {
            publishesInFlight += 1
            publish(fresh.routes) { [weak self] closed in
                guard let self else { return }
                self.loop.execute {
                    if closed > 0 { self.sessionsClosed(closed) }
                    self.publishApplied()
                }
            }
        }
        // While ZooKeeper is away its picture may be stale: a leader cut then is not confirmed again
        // until ZooKeeper speaks.
        if let member = fresh.leaderToConfirm, !dcsLost {
            confirmer.confirm(member)
        } else {
            confirmer.stop()
        }
    }

    private func sessionsClosed(_ count: Int) {
        leaderChangeLog.sessionsClosed(count)
        if var change = pendingChange {
            change.closed += count
            pendingChange = change
        }
        if let index = events.firstIndex(where: { $0.leaderChange != nil }), var details = events[index].leaderChange {
            details.sessionsClosed += count
            events[index].leaderChange = details
        }
    }

    // MARK: - Promotion confirmation

    private func confirm(_ member: ClusterMember) {
        let now = SystemClock.wallSeconds()
        confirmedLeader = member.name
        confirmedAt = now
        confirmedAtTick = loop.now
        restFailures[member.name] = 0
        let seconds = Double(loop.now &- leaderSeenAt) / 1e9
        replan()
        let generation = plan?.writableLeader?.generation ?? generations.lastLeaderGeneration
        let change = pendingChange
        pendingChange = nil
        leaderChangeLog.confirmed(member.name, generation: generation, at: now)
        let message = "leader \(member.name) confirmed writable \(String(format3(seconds)))s after its leader znode; writes flow (generation \(generation))"
        if let index = events.firstIndex(where: { $0.leaderChange != nil }), var details = events[index].leaderChange {
            details.timeToConfirmation = seconds
            details.generation = generation
            events[index].leaderChange = details
            events[index].message += "; confirmed after \(format3(seconds))s"
        }
        logger.notice(
            "\(message)",
            metadata: [
                "old_leader": "\(change?.old ?? "-")", "new_leader": "\(member.name)", "generation": "\(generation)",
                "sessions_closed": "\(change?.closed ?? 0)", "time_to_confirmation_s": "\(format3(seconds))",
            ])
    }

    // MARK: - Operator controls

    /// Applies an operator's drain, maint, ready, pause or resume (from any thread): re-plans at once
    /// and records who did what. `shutdown-sessions` is the data plane's: it only checks the member
    /// exists here. `completion` runs once every event loop took the routes the control changed (on
    /// the coordinator's loop): when `drain` has answered, no new session reaches the member.
    public func control(_ command: ControlCommand, completion: @escaping @Sendable (ControlOutcome) -> Void) {
        loop.execute {
            let outcome = self.applyControl(command)
            self.whenRoutesApplied { completion(outcome) }
        }
    }

    /// Runs `body` once every route published so far has reached every event loop (at once when none
    /// is on its way).
    private func whenRoutesApplied(_ body: @escaping () -> Void) {
        if publishesInFlight == 0 { body() } else { appliedWaiters.append(body) }
    }

    /// One publish reached every event loop.
    private func publishApplied() {
        publishesInFlight -= 1
        guard publishesInFlight == 0, !appliedWaiters.isEmpty else { return }
        let waiters = appliedWaiters
        appliedWaiters = []
        for waiter in waiters { waiter() }
    }

    private func applyControl(_ command: ControlCommand) -> ControlOutcome {
        let now = SystemClock.wallSeconds()
        switch command.target {
        case .member(let name):
            // A member that left the picture while drained can still be set back to ready.
            guard topology?.members[name] != nil || controls.members[name] != nil else {
                let known = (topology?.members.keys.sorted() ?? []).joined(separator: ", ")
                return .notFound("no member \(name) in cluster \(cluster.scope) (members: \(known.isEmpty ? "none seen yet" : known))")
            }
            let state: MemberAdminState
            switch command.action {
            case .drain: state = .drain
            case .maint: state = .maint
            case .ready: state = .ready
            case .shutdownSessions: return .done("member \(name) exists")
            case .pause, .resume: return .conflict("\(command.action.rawValue) applies to listeners, not members")
            }
            let previous = controls.set(state, for: name)
            replan()
            var message = "member \(name): \(state.rawValue) (was \(previous.rawValue))"
            if state != .ready && name == leaderName {
                message += "; it is the leader: writes still go to it"
            }
            record(.backendStatus, "operator \(command.user) from \(command.client): \(message)", now: now)
            return .done(message)
        case .listener(let name):
            guard listeners.contains(where: { $0.name == name }) else {
                return .notFound("no listener \(name) (listeners: \(listeners.map(\.name).joined(separator: ", ")))")
            }
            let pause: Bool
            switch command.action {
            case .pause: pause = true
            case .resume: pause = false
            default: return .conflict("\(command.action.rawValue) applies to members, not listeners")
            }
            let was = controls.setPaused(pause, listener: name)
            replan()
            let message = pause
                ? "listener \(name): paused\(was ? " (already)" : ""); new connections are held up to \(cluster.holdTimeout.humanReadable)"
                : "listener \(name): resumed\(was ? "" : " (was not paused)"); held connections go through"
            record(.listener, "operator \(command.user) from \(command.client): \(message)", now: now)
            return .done(message)
        }
    }

    // MARK: - Stats

    private func trackMemberStatus(_ plan: RoutePlan) {
        let now = SystemClock.wallSeconds()
        for row in memberRows(plan) {
            let previous = memberStatus[row.name]
            if previous?.status != row.status {
                memberStatus[row.name] = (row.status, now)
                if previous != nil {
                    record(.backendStatus, "\(row.name): \(previous!.status.rawValue) → \(row.status.rawValue)\(row.reason.map { " (\($0))" } ?? "")", now: now)
                }
            }
        }
    }

    /// One status per member: UP when some cluster listener routes to it, else MAINT when an operator
    /// said so, DOWN when any listener finds it unusable, DRAIN when drained, otherwise EXCLUDED, with
    /// every listener's reason.
    private func memberRows(_ plan: RoutePlan) -> [(name: String, status: BackendStatus, reason: String?)] {
        var byMember: [String: [(String, MemberEligibility)]] = [:]
        for (listener, rows) in plan.eligibility {
            for row in rows { byMember[row.member, default: []].append((listener, row)) }
        }
        return byMember.keys.sorted().map { name in
            let rows = byMember[name]!.sorted { $0.0 < $1.0 }
            let status: BackendStatus
            if rows.contains(where: { $0.1.status == .up }) { status = .up }
            else if rows.contains(where: { $0.1.status == .maint }) { status = .maint }
            else if rows.contains(where: { $0.1.status == .down }) { status = .down }
            else if rows.contains(where: { $0.1.status == .drain }) { status = .drain }
            else { status = .excluded }
            let reasons = rows.compactMap { listener, row in row.reason.map { "\(listener): \($0)" } }
            return (name, status, reasons.isEmpty ? nil : reasons.joined(separator: "; "))
        }
    }

    func record(_ kind: StatsEventKind, _ message: String, now: Double) {
        events.insert(StatsEvent(time: now, kind: kind, message: message), at: 0)
        trimEvents()
    }

    private func trimEvents() {
        if events.count > Self.eventLimit { events.removeLast(events.count - Self.eventLimit) }
    }

    /// The cluster's part of the stats snapshot, delivered on the coordinator's loop.
    public func view(_ completion: @escaping @Sendable (ClusterView) -> Void) {
        loop.execute { completion(self.currentView()) }
    }

    private func currentView() -> ClusterView {
        let session: ZooKeeperSessionState
        switch health {
        case nil: session = .connecting
        case .live?: session = .connected
        case .reconnecting?: session = .reconnecting
        case .expired?: session = .expired
        }
        let leader = leaderName.map {
            LeaderStats(name: $0, since: leaderSince ?? 0, confirmed: confirmedLeader == $0, confirmedAt: confirmedLeader == $0 ? confirmedAt : nil)
        }
        let stats = ClusterStats(
            scope: cluster.scope, namespace: cluster.namespace, zookeeperHosts: cluster.zookeeper.hosts.map(\.description),
            session: session, lastEventTime: lastEventTime, leader: leader, generation: generations.lastLeaderGeneration,
            leaderChangesTotal: leaderChanges, sessionExpiriesTotal: expiries, disconnectsTotal: disconnects,
            dcsLossPolicy: verifiesThroughDCSLoss || cluster.onDCSLoss == .failClosed ? cluster.onDCSLoss.rawValue : "fail_closed (no member checks)", leaderDisagreementsTotal: leaderDisagreements,
            splitBrainsTotal: healthPicture.splitBrainsTotal, dcsLossWriteCutsTotal: verificationCuts)
        var members: [MemberStats] = []
        let rows = plan.map(memberRows) ?? []
        let statusByName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        let lags = topology?.lags ?? [:]
        let names = (topology?.members.keys).map { Array($0) } ?? []
        // Leader first, then by name.
        let ordered = names.sorted { a, b in (a == leaderName ? 0 : 1, a) < (b == leaderName ? 0 : 1, b) }
        for name in ordered {
            guard let entry = topology?.members[name] else { continue }
            let row = statusByName[name]
            var checks: [HealthCheckStats] = []
            if name == leaderName, let lastCheck = confirmer.lastCheck { checks.append(lastCheck) }
            checks += healthChecks(of: name)
            let measured = healthPicture.members[name]?.lag
            switch entry {
            case .valid(let member):
                var tags: [String] = []
                if member.tags.nofailover { tags.append("nofailover") }
                if member.tags.noloadbalance { tags.append("noloadbalance") }
                if member.tags.nosync { tags.append("nosync") }
                if member.tags.nostream { tags.append("nostream") }
                if topology?.isSyncStandby(name) == true { tags.append("sync_standby") }
                members.append(MemberStats(
                    name: name, address: member.endpoint.description, role: member.role.description, state: member.state,
                    timeline: member.timeline,
                    lagBytes: name == leaderName ? nil : (measured?.bytes ?? lags[name]).map { Int(clamping: $0) },
                    lagSeconds: name == leaderName ? nil : measured?.seconds,
                    checkFailuresTotal: healthPicture.members[name]?.check.failuresTotal ?? 0,
                    tags: tags, isLeader: name == leaderName, status: row?.status ?? .excluded, statusReason: row?.reason,
                    lastStatusChange: memberStatus[name]?.since, checks: checks))
                members[members.count - 1].adminState = controls.state(of: name)
            case .invalid(let reason):
                members.append(MemberStats(
                    name: name, address: nil, isLeader: name == leaderName, status: .excluded,
                    statusReason: "invalid member data: \(reason)", lastStatusChange: memberStatus[name]?.since, checks: checks))
                members[members.count - 1].adminState = controls.state(of: name)
            }
        }
        return ClusterView(cluster: stats, members: members, events: events, leaderChanges: leaderChangeLog.changes,
                           pausedListeners: controls.pausedListeners)
    }
}

/// The cluster's part of a stats snapshot.
public struct ClusterView: Sendable {
    /// Scope, ZooKeeper session, leader.
    public let cluster: ClusterStats
    /// One row per member, leader first (session and byte counts are the data plane's to fill).
    public let members: [MemberStats]
    /// Recent events, newest first.
    public let events: [StatsEvent]
    /// Recent leader changes with the time of each step, oldest first (the failover ledger's input).
    public let leaderChanges: [LeaderChangeFacts]
    /// Listeners an operator paused.
    public var pausedListeners: Set<String> = []
}

private func format3(_ value: Double) -> String {
    let scaled = (value * 1000).rounded() / 1000
    return String(scaled)
}
