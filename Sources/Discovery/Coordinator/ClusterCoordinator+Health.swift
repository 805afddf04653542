import Logging
import PosixIO
import Reactor
import SwitchmanCore

/// The coordinator's use of its own member checks: lag and split brain for the read pools, a
/// confirmed leader that turns read-only, and `on_dcs_loss: verify` while ZooKeeper is away.
extension ClusterCoordinator {
    /// ZooKeeper is unreachable or the session expired: its picture may be stale.
    var dcsLost: Bool { health == .reconnecting || health == .expired }

    /// `on_dcs_loss: verify` in force: it needs member checks (without them nothing verifies, and
    /// writes fail closed at session expiry).
    var verifiesThroughDCSLoss: Bool { cluster.onDCSLoss == .verify && memberChecks != nil }

    /// Points the member checks at the members of the current picture.
    func checkMembers() {
        guard let memberChecks, let topology else { return }
        memberChecks.update(topology.members.values.compactMap(\.member).sorted { $0.name < $1.name })
        healthPicture.retain(members: Set(topology.members.keys), listeners: Set(listeners.map(\.name)))
        restOutcomes = restOutcomes.filter { topology.members[$0.key] != nil }
    }

    /// ZooKeeper went away or came back: the leader is checked every `fast_interval` while it is away.
    func dcsReachabilityChanged() {
        guard let memberChecks else { return }
        memberChecks.checkFast(dcsLost && verifiesThroughDCSLoss ? confirmedLeader : nil)
    }

    /// One SQL check of `name` finished (on the loop).
    func memberChecked(_ name: String, _ outcome: CheckOutcome, run: SQLCheckRun) {
        let now = SystemClock.wallSeconds()
        let notices = healthPicture.record(
            outcome, member: name, duration: run.seconds, leader: leaderName, listeners: listeners, now: loop.now, wallTime: now)
        for notice in notices { announce(notice, run: run, now: now) }
        if name == confirmedLeader, case .failed(let error) = outcome {
            let failures = healthPicture.members[name]?.check.consecutiveFailures ?? 0
            if dcsLost && verifiesThroughDCSLoss {
                // Definite evidence cuts at once; a timeout or an odd error only after `fall` in a row.
                if run.nodeDown || failures >= cluster.check.fall {
                    cutWrites("\(name)'s SQL check failed while ZooKeeper is away (\(failures) in a row): \(error)", now: now)
                }
            } else if run.nodeDown {
                unconfirm(name, "\(name) stopped accepting connections (\(error))", now: now)
            }
        }
        replan()
    }

    /// One REST request of `name` finished (on the loop).
    func memberAnsweredREST(_ name: String, _ outcome: RESTOutcome) {
        restOutcomes[name] = (outcome, SystemClock.wallSeconds())
        guard name == confirmedLeader, dcsLost, verifiesThroughDCSLoss, outcome.path == "/primary" else { return }
        if outcome.status == 200 {
            restFailures[name] = 0
            return
        }
        let why: String
        if let status = outcome.status {
            why = "answered \(status)"  // Patroni itself says it is not the primary with the leader lock
        } else {
            let failures = (restFailures[name] ?? 0) + 1
            restFailures[name] = failures
            guard failures >= cluster.check.fall else { return }
            why = "did not answer \(failures) times in a row (\(outcome.error ?? "no reason"))"
        }
        cutWrites("\(name)'s Patroni REST /primary \(why) while ZooKeeper is away", now: SystemClock.wallSeconds())
        replan()
    }

    private func announce(_ notice: HealthNotice, run: SQLCheckRun, now: Double) {
        switch notice {
        case .checkFailing(let member, let error):
            logger.warning("SQL check of \(member) failing", metadata: ["member": "\(member)", "error": "\(error)"])
            record(.healthCheck, "\(member): SQL check failing (\(cluster.check.fall) in a row): \(error)", now: now)
        case .checkPassing(let member):
            logger.notice("SQL check of \(member) passing again", metadata: ["member": "\(member)"])
            record(.healthCheck, "\(member): SQL check passing again", now: now)
        case .admission(let listener, let member, let admitted, let reason):
            let message = admitted
                ? "\(member) admitted to \(listener) (lag under its limit)"
                : "\(member) out of \(listener) for new sessions: \(reason ?? "lag")"
            logger.notice("\(message)", metadata: ["member": "\(member)", "listener": "\(listener)"])
            record(.healthCheck, message, now: now)
        case .leaderInRecovery(let member):
            if member == confirmedLeader {
                // A check that started before the confirmation may still see the promotion under way.
                guard run.started >= confirmedAtTick else { return }
                leaderDisagreements += 1
                let why = "\(member) holds the leader znode but answers pg_is_in_recovery() = true (read-only)"
                if dcsLost && verifiesThroughDCSLoss { cutWrites(why, now: now) } else { unconfirm(member, why, now: now) }
            } else if !stuckPromotionReported, topology?.leader?.role != .standbyLeader,
                      loop.now &- leaderSeenAt > Self.promotionWindow.nanoseconds {
                // Patroni's promotion takes ~0.1 s: a leader still in recovery after this is a disagreement.
                stuckPromotionReported = true
                leaderDisagreements += 1
                logger.error("\(member) holds the leader znode but is still in recovery after \(Self.promotionWindow.humanReadable); writes stay held",
                             metadata: ["member": "\(member)"])
                record(.healthCheck, "\(member) holds the leader znode but is still in recovery after \(Self.promotionWindow.humanReadable): writes stay held until it is writable", now: now)
            }
        case .splitBrain(let member, let leader, let ongoing):
            if ongoing {
                logger.error("split brain: \(member) answers not in recovery, but the leader znode names \(leader ?? "nobody"); no writes or reads go to it",
                             metadata: ["member": "\(member)", "leader": "\(leader ?? "-")"])
                record(.healthCheck, "split brain: \(member) answers pg_is_in_recovery() = false but is not the leader (\(leader ?? "none")); it gets no sessions", now: now)
            } else {
                logger.notice("\(member) is in recovery again: the split brain is over", metadata: ["member": "\(member)"])
                record(.healthCheck, "\(member) is in recovery again", now: now)
            }
        }
    }

    /// How long a new leader may stay in recovery before that counts as a disagreement.
    static let promotionWindow: Duration = .seconds(10)

    /// Writes to `member` stop (held) until the promotion probe sees it writable again.
    private func unconfirm(_ member: String, _ why: String, now: Double) {
        guard confirmedLeader == member else { return }
        confirmedLeader = nil
        confirmedAt = nil
        leaderSeenAt = loop.now
        logger.warning("\(why); writes held until it is writable again", metadata: ["member": "\(member)"])
        record(.leaderChange, "\(why); writes held until it is writable again", now: now)
    }

    /// `on_dcs_loss: verify` saw the leader say otherwise: writes stop until ZooKeeper speaks again.
    private func cutWrites(_ why: String, now: Double) {
        guard let member = confirmedLeader else { return }
        confirmedLeader = nil
        confirmedAt = nil
        leaderSeenAt = loop.now
        verificationCuts += 1
        memberChecks?.checkFast(nil)
        logger.error("\(why); writes held until ZooKeeper is back", metadata: ["member": "\(member)"])
        record(.leaderChange, "\(why); writes held until ZooKeeper is back", now: now)
    }
}

extension ClusterCoordinator {
    /// The stats page's rows for the member's SQL and REST checks.
    func healthChecks(of name: String) -> [HealthCheckStats] {
        var checks: [HealthCheckStats] = []
        if let health = healthPicture.members[name], let time = health.lastCheckTime {
            let ok = health.check.lastError == nil
            checks.append(HealthCheckStats(
                name: "sql", ok: ok, time: time, duration: health.lastCheckDuration,
                detail: health.check.lastError ?? health.reading.map { Self.describe($0, lag: health.lag) } ?? ""))
        }
        if let (rest, time) = restOutcomes[name] {
            let ok = rest.status == 200 || (rest.path == "/patroni" && rest.status != nil && rest.error == nil)
            var detail = "GET \(rest.path): " + (rest.status.map(String.init) ?? rest.error ?? "no answer")
            if let patroni = rest.patroni {
                detail += [patroni.state, patroni.role.map(\.description)].compactMap { $0 }.map { " \($0)" }.joined()
            }
            checks.append(HealthCheckStats(name: "rest", ok: ok, time: time, detail: detail))
        }
        return checks
    }

    /// One line of what a reading says: `primary at 0/3000148` or `replica, replayed 0/3000060, lag 0B 0s, streaming`.
    static func describe(_ reading: MemberReading, lag: ReplicaLag?) -> String {
        guard reading.inRecovery else { return "primary at \(reading.currentLSN.map(LSN.format) ?? "?")" }
        var parts = ["in recovery, replayed \(reading.replayLSN.map(LSN.format) ?? "nothing")"]
        if let lag {
            let bytes = lag.bytes.map { "\($0)B" } ?? "?"
            let seconds = lag.seconds.map { "\(($0 * 10).rounded() / 10)s" } ?? "unknown"
            parts.append("lag \(bytes), \(seconds)")
        }
        if reading.replayPaused { parts.append("replay paused") }
        parts.append(reading.walReceiverStatus ?? "no WAL receiver")
        return parts.joined(separator: ", ")
    }
}
