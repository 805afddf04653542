import Foundation
import Synchronization

/// One new connection of a `ConnectionOpener`: connect, `whereAmI()`, close, timed.
struct ConnectionTry: Sendable {
    enum Outcome: Sendable {
        /// Connected and answered.
        case answered(inRecovery: Bool, port: Int)
        /// The connect failed (refused, FATAL from the proxy or the node, timeout).
        case connectFailed(PGError)
        /// Connected, then the statement failed or the connection broke under it.
        case queryFailed(PGError)
    }

    let started: ContinuousClock.Instant
    /// When the connect returned a usable connection (nil when it failed).
    let connected: ContinuousClock.Instant?
    let finished: ContinuousClock.Instant
    let outcome: Outcome

    var succeeded: Bool { if case .answered = outcome { true } else { false } }

    /// Answered by a node not in recovery (one that takes writes).
    var writable: Bool { if case .answered(let inRecovery, _) = outcome { !inRecovery } else { false } }

    /// The port of the node that answered.
    var serverPort: Int? { if case .answered(_, let port) = outcome { port } else { nil } }

    /// Answered by a node in recovery.
    var readOnly: Bool { if case .answered(let inRecovery, _) = outcome { inRecovery } else { false } }

    var error: PGError? {
        switch outcome {
        case .answered: nil
        case .connectFailed(let e), .queryFailed(let e): e
        }
    }

    /// Seconds from start to end.
    var elapsed: Double { seconds(started, finished) }
}

/// Opens a new connection to `port` every `interval` and records each try. With `overlapping`, every try
/// runs on a thread of its own, so a connect that is held does not delay the next one (new clients keep
/// arriving at their own pace); without it, tries run one after the other on one thread (a probe).
final class ConnectionOpener: Sendable {
    private let port: Int
    private let interval: Duration
    private let connectTimeout: Int
    private let overlapping: Bool
    private let state = Mutex<(tries: [ConnectionTry], inFlight: Int, stopping: Bool, finished: Bool)>(([], 0, false, false))

    /// - Parameters:
    ///   - connectTimeout: libpq's `connect_timeout` for each try (seconds; libpq takes 2 at least).
    init(port: Int, interval: Duration, connectTimeout: Int, overlapping: Bool) {
        self.port = port
        self.interval = interval
        self.connectTimeout = connectTimeout
        self.overlapping = overlapping
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.start()
    }

    /// Finished tries so far, in the order they finished.
    var tries: [ConnectionTry] { state.withLock { $0.tries } }

    /// Stops starting tries, waits for those in flight (each ends within its connect timeout and the
    /// statement timeout) and returns every try, sorted by start.
    func stop() async throws -> [ConnectionTry] {
        state.withLock { $0.stopping = true }
        try await waitUntil("the connections to port \(port) in flight to end", timeout: .seconds(connectTimeout + 20)) {
            state.withLock { $0.finished && $0.inFlight == 0 } ? true : nil
        }
        return tries.sorted { $0.started < $1.started }
    }

    private func run() {
        let clock = ContinuousClock()
        var next = clock.now
        while !state.withLock({ $0.stopping }) {
            if overlapping {
                state.withLock { $0.inFlight += 1 }
                let thread = Thread { [self] in
                    let attempt = once()
                    state.withLock { $0.tries.append(attempt); $0.inFlight -= 1 }
                }
                thread.stackSize = 1 << 20
                thread.start()
            } else {
                let attempt = once()
                state.withLock { $0.tries.append(attempt) }
            }
            next = max(next + interval, clock.now)
            let pause = next - clock.now
            if pause > .zero {
                Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
            }
        }
        state.withLock { $0.finished = true }
    }

    private func once() -> ConnectionTry {
        let started = ContinuousClock.now
        let connection: PGConnection
        do throws(PGError) {
            connection = try PGConnection(port: port, connectTimeout: connectTimeout)
        } catch {
            return ConnectionTry(started: started, connected: nil, finished: .now, outcome: .connectFailed(error))
        }
        let connected = ContinuousClock.now
        do throws(PGError) {
            let reached = try connection.whereAmI()
            return ConnectionTry(started: started, connected: connected, finished: .now,
                                 outcome: .answered(inRecovery: reached.inRecovery, port: reached.port))
        } catch {
            return ConnectionTry(started: started, connected: connected, finished: .now, outcome: .queryFailed(error))
        }
    }
}
