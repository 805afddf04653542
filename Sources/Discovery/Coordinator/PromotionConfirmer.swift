import PosixIO
import Reactor
import SwitchmanCore

/// One check of whether a member takes writes (`select pg_is_in_recovery()`), started by the
/// ``PromotionConfirmer``. Injectable, so the coordinator is tested without PostgreSQL.
public protocol PromotionCheck {
    /// Starts checking `member`; `completion` runs once, on the confirmer's loop, unless the
    /// returned cancel closure runs first.
    func start(_ member: ClusterMember, completion: @escaping (SQLProbeResult) -> Void) -> () -> Void
}

/// The real check: the member's host name looked up on the resolver's thread, then an
/// ``SQLProbe`` on the loop to that address.
public struct SQLPromotionCheck: PromotionCheck {
    let loop: EventLoop
    let resolver: AddressResolver
    let credentials: SQLCheckConfiguration

    public init(loop: EventLoop, resolver: AddressResolver, credentials: SQLCheckConfiguration) {
        self.loop = loop
        self.resolver = resolver
        self.credentials = credentials
    }

    public func start(_ member: ClusterMember, completion: @escaping (SQLProbeResult) -> Void) -> () -> Void {
        let run = CheckRun(completion: completion)
        let endpoint = member.endpoint
        let (loop, credentials) = (self.loop, self.credentials)
        resolver.firstAddress(host: endpoint.host, port: endpoint.port, on: loop) { result in
            switch result {
            case .success(let address): run.probe(loop: loop, endpoint: endpoint, address: address, credentials: credentials)
            case .failure(let failure): run.finish(.failed(failure.message))
            }
        }
        return { run.cancel() }
    }
}

/// One run of ``SQLPromotionCheck``: the lookup's answer and the probe may outlive a cancel.
private final class CheckRun: @unchecked Sendable {
    // @unchecked: used on one loop thread only (the resolver answers on the loop).
    private var completion: ((SQLProbeResult) -> Void)?
    private var sqlProbe: SQLProbe?

    init(completion: @escaping (SQLProbeResult) -> Void) { self.completion = completion }

    func probe(loop: EventLoop, endpoint: Endpoint, address: SocketAddress, credentials: SQLCheckConfiguration) {
        guard completion != nil else { return }
        sqlProbe = SQLProbe(loop: loop, endpoint: endpoint, address: address, credentials: credentials,
                            query: "select pg_is_in_recovery()") { [self] result in finish(result) }
    }

    func finish(_ result: SQLProbeResult) {
        sqlProbe = nil
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }

    func cancel() {
        completion = nil
        sqlProbe?.cancel()
        sqlProbe = nil
    }
}

/// Confirms that the member the `leader` znode names takes writes before the write port routes to
/// it: checks it (``PromotionCheck``) every `interval` until `pg_is_in_recovery()` is false, then
/// calls `onConfirmed` once. One target at a time; a new target or ``stop()`` abandons the old one.
/// Loop-confined.
final class PromotionConfirmer {
    private let loop: EventLoop
    private let check: PromotionCheck
    private let interval: Duration
    private let onConfirmed: (ClusterMember) -> Void
    /// The member being confirmed.
    private(set) var target: ClusterMember?
    private var cancelCheck: (() -> Void)?
    private var retry: TimerID?
    /// The last check's outcome, for the stats page.
    private(set) var lastCheck: HealthCheckStats?

    init(loop: EventLoop, check: PromotionCheck, interval: Duration, onConfirmed: @escaping (ClusterMember) -> Void) {
        self.loop = loop
        self.check = check
        self.interval = interval
        self.onConfirmed = onConfirmed
    }

    /// Starts confirming `member`, unless it is the target already.
    func confirm(_ member: ClusterMember) {
        if let target, target.name == member.name, target.endpoint == member.endpoint { return }
        stop()
        target = member
        run()
    }

    /// Abandons the target: no more checks, no callback.
    func stop() {
        cancelCheck?()
        cancelCheck = nil
        if let retry { loop.cancel(retry) }
        retry = nil
        target = nil
    }

    private func run() {
        guard let member = target else { return }
        let started = loop.now
        // A check may answer before start returns: its cancel closure is then stale.
        var answered = false
        let cancel = check.start(member) { [weak self] result in
            answered = true
            guard let self, let target = self.target, target.name == member.name else { return }
            self.cancelCheck = nil
            let duration = Double(self.loop.now &- started) / 1e9
            switch result {
            case .row(let values) where values.first == "f":
                self.lastCheck = HealthCheckStats(name: "promotion", ok: true, time: SystemClock.wallSeconds(), duration: duration,
                                                  detail: "pg_is_in_recovery() = false")
                self.stop()
                self.onConfirmed(member)
            case .row(let values):
                self.lastCheck = HealthCheckStats(
                    name: "promotion", ok: false, time: SystemClock.wallSeconds(), duration: duration,
                    detail: "pg_is_in_recovery() = \(values.first.flatMap { $0 } ?? "null") (still in recovery)")
                self.scheduleRetry()
            case .failed(let reason):
                self.lastCheck = HealthCheckStats(name: "promotion", ok: false, time: SystemClock.wallSeconds(), duration: duration, detail: reason)
                self.scheduleRetry()
            }
        }
        if !answered { cancelCheck = cancel }
    }

    private func scheduleRetry() {
        retry = loop.schedule(after: interval) { [weak self] in
            self?.retry = nil
            self?.run()
        }
    }
}
