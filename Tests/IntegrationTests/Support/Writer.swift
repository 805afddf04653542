import Foundation
import Synchronization

/// One write attempt of a `Writer` (or a `ConnectionOpener`), with what came of it.
struct WriteAttempt: Sendable {
    enum Outcome: Sendable {
        /// Committed (autocommit) on the node listening on `serverPort`.
        case acknowledged(serverPort: Int)
        /// The connect through the proxy failed.
        case connectFailed(PGError)
        /// The statement failed, or the connection broke under it.
        case failed(PGError)
    }

    /// The row id it tried to insert (unique per writer).
    let id: Int
    /// The connection it used (1, 2, …: a new number each reconnect).
    let connection: Int
    let started: ContinuousClock.Instant
    let finished: ContinuousClock.Instant
    /// How long the connect took when this attempt opened a connection (held connections take long).
    let connectSeconds: Double?
    let outcome: Outcome

    var serverPort: Int? {
        if case .acknowledged(let port) = outcome { return port }
        return nil
    }

    var error: PGError? {
        switch outcome {
        case .acknowledged: nil
        case .connectFailed(let e), .failed(let e): e
        }
    }
}

/// What a writer's attempts show about a failover.
struct WriterReport: Sendable {
    let attempts: [WriteAttempt]

    var acknowledged: [WriteAttempt] { attempts.filter { $0.serverPort != nil } }
    var acknowledgedIDs: [Int] { acknowledged.map(\.id) }
    func acknowledged(on port: Int) -> [WriteAttempt] { attempts.filter { $0.serverPort == port } }
    var failures: [WriteAttempt] { attempts.filter { $0.error != nil } }
    /// Statements that reached a read-only node: the failure Switchman exists to prevent.
    var readOnlyFailures: [WriteAttempt] { failures.filter { $0.error?.isReadOnly == true } }
    /// Connects that reached the old leader as it shut down: refused with 57P03, or closed during the
    /// start-up. The PostgreSQL-aware start-up issue makes Switchman retry those invisibly; until then
    /// they are the known gap, not a misrouted write.
    var startupFailures: [WriteAttempt] {
        failures.filter {
            guard case .connectFailed(let e) = $0.outcome else { return false }
            return e.isShuttingDown || e.message.contains("closed the connection unexpectedly")
        }
    }
    /// Attempts whose connection broke under the statement.
    var connectionsLost: [WriteAttempt] {
        failures.filter { if case .failed(let e) = $0.outcome { e.connectionLost } else { false } }
    }

    /// The ports acknowledgements came from, in order, with repeats collapsed: `[old, new]` after a clean failover.
    var portSequence: [Int] {
        var sequence: [Int] = []
        for port in acknowledged.compactMap(\.serverPort) where sequence.last != port { sequence.append(port) }
        return sequence
    }

    /// The longest time between two consecutive acknowledgements.
    var longestGap: Double {
        let acks = acknowledged
        guard acks.count > 1 else { return 0 }
        return zip(acks, acks.dropFirst()).map { seconds($0.finished, $1.finished) }.max() ?? 0
    }

    /// One line per failure kind, for messages.
    var failureSummary: String {
        var kinds: [String: Int] = [:]
        for failure in failures { kinds[failure.error?.description ?? "?", default: 0] += 1 }
        return kinds.isEmpty ? "none" : kinds.sorted { $0.key < $1.key }.map { "\($0.value)× \($0.key)" }.joined(separator: "; ")
    }
}

/// Commits one row every `interval` through a proxy port on a thread of its own, reconnecting after any
/// error, and records every attempt: the seed's failover exercise, automated. With `freshConnections`
/// it opens a new connection for every row instead (new clients arriving during a failover).
final class Writer: Sendable {
    private let port: Int
    private let table: String
    private let idBase: Int
    private let interval: Duration
    private let connectTimeout: Int
    private let freshConnections: Bool
    private let state = Mutex<(attempts: [WriteAttempt], stopping: Bool, finished: Bool)>(([], false, false))

    /// - Parameters:
    ///   - port: the proxy's primary port.
    ///   - table: a table `(id bigint primary key)` that exists on the leader.
    ///   - idBase: first id − 1; ids are `idBase + 1, idBase + 2, …`.
    ///   - connectTimeout: bounds each connect (a held connection waits within it).
    ///   - freshConnections: a new connection per row, closed after it.
    init(port: Int, table: String, idBase: Int, interval: Duration = .milliseconds(50), connectTimeout: Int = 40,
         freshConnections: Bool = false) {
        self.freshConnections = freshConnections
        self.port = port
        self.table = table
        self.idBase = idBase
        self.interval = interval
        self.connectTimeout = connectTimeout
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.start()
    }

    /// Attempts so far.
    var report: WriterReport { WriterReport(attempts: state.withLock { $0.attempts }) }

    /// Stops after the attempt in flight and returns every attempt (bounded wait: a connect in flight
    /// ends within `connectTimeout`).
    func stop() async throws -> WriterReport {
        state.withLock { $0.stopping = true }
        try await waitUntil("the writer on port \(port) to stop", timeout: .seconds(connectTimeout + 15)) {
            state.withLock { $0.finished } ? true : nil
        }
        return report
    }

    private func run() {
        var connection: PGConnection?
        var connectionNumber = 0
        var sequence = 0
        let clock = ContinuousClock()
        var next = clock.now
        while !state.withLock({ $0.stopping }) {
            sequence += 1
            let id = idBase + sequence
            let started = clock.now
            var outcome: WriteAttempt.Outcome
            var connectSeconds: Double?
            do throws(PGError) {
                if connection == nil {
                    defer { connectSeconds = seconds(started, clock.now) }
                    connection = try PGConnection(port: port, connectTimeout: connectTimeout)
                    connectionNumber += 1
                }
                do throws(PGError) {
                    let port = try connection!.value("insert into \(table)(id) values (\(id)) returning inet_server_port()")  // set just above
                    outcome = .acknowledged(serverPort: Int(port ?? "") ?? -1)
                } catch {
                    outcome = .failed(error)
                    // A session that failed is worth nothing during a failover: reconnect through the proxy.
                    connection = nil
                }
            } catch {
                outcome = .connectFailed(error)
            }
            if freshConnections { connection = nil }
            let attempt = WriteAttempt(id: id, connection: connectionNumber, started: started, finished: clock.now,
                                       connectSeconds: connectSeconds, outcome: outcome)
            state.withLock { $0.attempts.append(attempt) }
            next = max(next + interval, clock.now)
            let pause = next - clock.now
            if pause > .zero { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds)) }
        }
        connection = nil
        state.withLock { $0.finished = true }
    }
}
