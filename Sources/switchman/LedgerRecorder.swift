import Discovery
import PosixIO
import ProxyRuntime
import Synchronization
import SwitchmanCore

/// Keeps the failover ledger and the 15-minute series of every listener: fed once a second with
/// the data plane's figures (its wait outcomes drained) and the coordinator's leader changes, read
/// by every snapshot. Converts the data plane's monotonic times to wall-clock seconds.
final class LedgerRecorder: Sendable {
    private struct Last {
        var sessionsTotal: UInt64
        var bytes: UInt64
        var monotonic: UInt64
    }

    private struct State {
        var ledger = FailoverLedger()
        var rings: [String: SeriesRing] = [:]
        var last: [String: Last] = [:]
        var waitSamplesDropped = 0
    }

    private let state = Mutex(State())

    /// One second's sample: `statistics` must come from a draining collection (its wait outcomes are
    /// recorded here, once).
    func sample(_ statistics: RuntimeStatistics, cluster: ClusterView?, routes: [String: ListenerRoute],
                configuration: ProxyConfiguration) {
        let clock = Clock.now()
        state.withLock { state in
            state.ledger.holdTimeout = configuration.cluster.map { Double($0.holdTimeout.nanoseconds) / 1e9 } ?? 30
            feed(&state.ledger, statistics, cluster: cluster, clock: clock)
            state.ledger.record(statistics.waitSamples.map { sample in
                WaitOutcome(endedAt: clock.wall(sample.endedAt), wait: Double(sample.wait) / 1e9, kind: sample.kind)
            }, now: clock.wall)
            state.waitSamplesDropped += statistics.waitSamplesDropped
            let names = Set(configuration.listeners.map(\.name))
            state.rings = state.rings.filter { names.contains($0.key) }
            state.last = state.last.filter { names.contains($0.key) }
            for listener in configuration.listeners {
                let figures = statistics.listeners[listener.name] ?? ListenerStatistics()
                let c = figures.counters
                let now = Last(sessionsTotal: c.sessionsTotal, bytes: c.bytesIn &+ c.bytesOut, monotonic: clock.monotonic)
                var point = SeriesPoint(time: clock.wall, held: figures.held, ready: routes[listener.name]?.state == .ready)
                if let last = state.last[listener.name], now.monotonic > last.monotonic {
                    let seconds = Double(now.monotonic - last.monotonic) / 1e9
                    point.sessionsPerSecond = Double(now.sessionsTotal &- last.sessionsTotal) / seconds
                    point.bytesPerSecond = Double(now.bytes &- last.bytes) / seconds
                }
                state.last[listener.name] = now
                state.rings[listener.name, default: SeriesRing()].append(point)
            }
        }
    }

    /// The ledger's part of a snapshot (the leader changes and generation times are folded in first,
    /// so a confirmation shows without waiting for the next sample).
    func stats(_ statistics: RuntimeStatistics, cluster: ClusterView?, configuration: ProxyConfiguration) -> LedgerStats {
        let clock = Clock.now()
        return state.withLock { state in
            feed(&state.ledger, statistics, cluster: cluster, clock: clock)
            let series = configuration.listeners.map { listener in
                ListenerSeries(listener: listener.name, role: listener.role, points: state.rings[listener.name]?.points ?? [])
            }
            let holdWait = configuration.listeners.filter { $0.role != .static }.map { listener in
                ListenerHistogram(
                    listener: listener.name,
                    histogram: statistics.listeners[listener.name]?.holdWaits ?? LatencyHistogram(bounds: LatencyHistogram.holdWaitBounds))
            }
            return LedgerStats(failovers: state.ledger.records, writeUnavailable: state.ledger.writeUnavailable, holdWait: holdWait,
                               series: series)
        }
    }

    private func feed(_ ledger: inout FailoverLedger, _ statistics: RuntimeStatistics, cluster: ClusterView?, clock: Clock) {
        if let cluster { ledger.update(changes: cluster.leaderChanges, now: clock.wall) }
        ledger.update(generations: statistics.generations.mapValues { times in
            GenerationTraffic(
                firstByteToServer: times.firstByteToServer == 0 ? nil : clock.wall(times.firstByteToServer),
                lastByteToClient: times.lastByteToClient == 0 ? nil : clock.wall(times.lastByteToClient))
        }, now: clock.wall)
    }

    /// A wall-clock and a monotonic reading taken together, to turn monotonic times into wall ones.
    private struct Clock {
        let wall: Double
        let monotonic: UInt64

        static func now() -> Clock {
            Clock(wall: SystemClock.wallSeconds(), monotonic: SystemClock.monotonicNanoseconds())
        }

        func wall(_ monotonicTime: UInt64) -> Double {
            monotonicTime >= monotonic
                ? wall + Double(monotonicTime - monotonic) / 1e9
                : wall - Double(monotonic - monotonicTime) / 1e9
        }
    }
}
