import SwitchmanCore

/// Fixed snapshots the renderer tests (and goldens) are built from.
enum StatsFixtures {
    /// 2023-11-14 22:13:20Z
    static let now: Double = 1_700_000_000

    /// A cluster mid-life: a confirmed leader, a healthy replica, an excluded replica whose name and
    /// reason try to inject markup (they come from ZooKeeper), a member with invalid JSON, a static
    /// listener, and the events of a failover.
    static let cluster = StatsSnapshot(
        generatedAt: now + 0.25,
        process: ProcessStats(
            version: "0.1.0",
            startTime: now - 3 * 86_400 - 4 * 3600 - 5,
            threads: 2,
            pid: 4242,
            configFile: "/etc/switchman/switchman.yaml",
            lastReload: ReloadStats(time: now - 3600, succeeded: false, message: "switchman.yaml:12: listeners[1].max_lag: not a size"),
            reloadsTotal: 3,
            reloadFailuresTotal: 1,
            logLinesDroppedTotal: 12
        ),
        cluster: ClusterStats(
            scope: "demo",
            namespace: "/service",
            zookeeperHosts: ["zk1:2181", "zk2:2181"],
            session: .connected,
            lastEventTime: now - 1.5,
            leader: LeaderStats(name: "pg-b", since: now - 95.5, confirmed: true, confirmedAt: now - 95.38),
            generation: 7,
            leaderChangesTotal: 2,
            sessionExpiriesTotal: 0,
            disconnectsTotal: 1
        ),
        listeners: [
            ListenerStats(
                name: "primary", bind: "0.0.0.0:5432", role: .primary, routeState: .ready, routeServers: ["pg-b"],
                sessionsCurrent: 12, sessionsMax: 500, sessionsTotal: 10_234, held: 0, queued: 0,
                bytesIn: 1_234_567_890, bytesOut: 9_876_543_210, connectErrors: 4, retries: 3, staleSessionsClosed: 17,
                sessionsRefused: 1, cancelRequestsForwarded: 5, sessionsPerSecond: 3.25, bytesInPerSecond: 20_480.4,
                bytesOutPerSecond: 1_572_864
            ),
            ListenerStats(
                name: "replicas", bind: "0.0.0.0:5433", role: .replica, routeState: .ready, routeServers: ["pg-a"],
                sessionsCurrent: 3, sessionsTotal: 77, bytesIn: 1000, bytesOut: 2_048_000, sessionsPerSecond: 0.1,
                bytesInPerSecond: 12.5, bytesOutPerSecond: 0
            ),
            ListenerStats(
                name: "legacy", bind: "127.0.0.1:6000", role: .static,
                routeState: .unavailable(reason: "no server reachable <all 1 down>"), routeServers: [],
                connectErrors: 9, sessionsRefused: 9
            ),
        ],
        members: [
            MemberStats(
                name: "pg-b", address: "10.0.0.2:5432", role: "master", state: "running", timeline: 3, lagBytes: nil,
                tags: [], isLeader: true, status: .up, lastStatusChange: now - 95.38, sessionsCurrent: 12, sessionsTotal: 4000,
                bytesIn: 1_000_000, bytesOut: 50_000_000,
                checks: [HealthCheckStats(name: "sql", ok: true, time: now - 95.38, duration: 0.004, detail: "pg_is_in_recovery() = false")]
            ),
            MemberStats(
                name: "pg-a", address: "10.0.0.1:5432", role: "replica", state: "running", timeline: 3, lagBytes: 0,
                tags: ["nofailover"], status: .up, lastStatusChange: now - 80, sessionsCurrent: 3, sessionsTotal: 6311,
                bytesIn: 1000, bytesOut: 2_048_000
            ),
            MemberStats(
                name: #"<script>alert("x")</script>&'"#, address: "10.0.0.3:5432", role: "replica", state: "running",
                timeline: 2, lagBytes: 33_554_432, tags: ["noloadbalance", "nosync"], status: .excluded,
                statusReason: #"lag 32.0 MiB > max_lag 16.0 MiB; tag "noloadbalance""#, lastStatusChange: now - 7200
            ),
            MemberStats(name: "pg-d", address: nil, status: .excluded, statusReason: "invalid member JSON: unexpected end of input"),
            MemberStats(
                name: "10.9.9.9:5432", address: "10.9.9.9:5432", listener: "legacy", status: .down,
                statusReason: "connect: Connection refused", lastStatusChange: now - 12
            ),
        ],
        events: [
            StatsEvent(time: now - 1.5, kind: .zookeeper, message: "reconnected to zk2:2181 within the session"),
            StatsEvent(
                time: now - 95.5, kind: .leaderChange, message: "leader pg-a -> pg-b",
                leaderChange: LeaderChangeDetails(oldLeader: "pg-a", newLeader: "pg-b", generation: 7, sessionsClosed: 17, timeToConfirmation: 0.12)
            ),
            StatsEvent(
                time: now - 97, kind: .leaderChange, message: "leader znode deleted",
                leaderChange: LeaderChangeDetails(oldLeader: "pg-a", newLeader: nil, generation: 6, sessionsClosed: 0)
            ),
            StatsEvent(time: now - 3600, kind: .reload, message: "rejected: switchman.yaml:12: listeners[1].max_lag: not a size"),
            StatsEvent(time: now - 7200, kind: .backendStatus, message: "<script>alert(\"x\")</script>&' EXCLUDED: lag\nsecond line"),
        ],
        loops: [LoopStats(id: 0, heartbeatAge: 0.2, sessions: 9), LoopStats(id: 1, heartbeatAge: 0.6, sessions: 6)],
        ledger: ledger
    )

    /// The ledger of `cluster`: a switchover 11 minutes ago, and the failover of its events (pg-a
    /// → pg-b, 97 s ago) with held connections and a refusal; one point every 30 s per listener, the
    /// primary's route down for the failover's seconds.
    static let ledger: LedgerStats = {
        let switchover = FailoverRecord(
            change: LeaderChangeFacts(
                id: 1, oldLeader: "pg-b", newLeader: "pg-a", oldGeneration: 4, generation: 5, switchoverRequestedAt: now - 700,
                leaderChangedAt: now - 699.2, confirmedAt: now - 699.1, sessionsClosed: 2),
            oldLeaderLastReplyAt: now - 699.5, firstByteAt: now - 699.08, unavailableFrom: now - 699.5, unavailableUntil: now - 699.08,
            unavailableUntilSource: .firstByte, settled: true)
        let failover = FailoverRecord(
            change: LeaderChangeFacts(
                id: 2, oldLeader: "pg-a", newLeader: "pg-b", oldGeneration: 5, generation: 7, leaderChangedAt: now - 97,
                confirmedAt: now - 95.38, sessionsClosed: 17),
            oldLeaderLastReplyAt: now - 97.8, firstByteAt: now - 95.37,
            held: HoldSummary(count: 3, timedOut: 0, waitP50: 1.6, waitP99: 1.7, waitMax: 1.7), refused: 1,
            unavailableFrom: now - 97.8, unavailableUntil: now - 95.37, unavailableUntilSource: .firstByte, settled: true)
        var unavailable = LatencyHistogram(bounds: LatencyHistogram.unavailableBounds)
        unavailable.observe(0.42)
        unavailable.observe(2.43)
        var waits = LatencyHistogram(bounds: LatencyHistogram.holdWaitBounds)
        for wait in [1.5, 1.6, 1.7] { waits.observe(wait) }
        func points(_ scale: Double, failoverDown: Bool) -> [SeriesPoint] {
            stride(from: 870.0, through: 0, by: -30).map { ago in
                let t = now + 0.25 - ago
                let down = failoverDown && ago == 90
                return SeriesPoint(time: t, sessionsPerSecond: scale * (1 + (ago / 30).truncatingRemainder(dividingBy: 4)),
                                   bytesPerSecond: scale * 1000 * (ago / 30), held: down ? 3 : 0, ready: !down)
            }
        }
        return LedgerStats(
            failovers: [failover, switchover], writeUnavailable: unavailable,
            holdWait: [ListenerHistogram(listener: "primary", histogram: waits),
                       ListenerHistogram(listener: "replicas", histogram: LatencyHistogram(bounds: LatencyHistogram.holdWaitBounds))],
            series: [ListenerSeries(listener: "primary", role: .primary, points: points(2, failoverDown: true)),
                     ListenerSeries(listener: "replicas", role: .replica, points: points(5, failoverDown: false)),
                     ListenerSeries(listener: "legacy", role: .static, points: points(1, failoverDown: false))])
    }()

    /// Static listeners only, nothing happened yet.
    static let staticOnly = StatsSnapshot(
        generatedAt: now,
        process: ProcessStats(version: "0.1.0", startTime: now - 0.5, threads: 1, pid: 1),
        listeners: [
            ListenerStats(name: "web", bind: "[::]:8080", role: .static, routeState: .ready, routeServers: ["127.0.0.1:9000"]),
        ],
        loops: [LoopStats(id: 0, heartbeatAge: 0)]
    )
}
