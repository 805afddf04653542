import CLibPQ
import Glibc
import PosixIO
import Reactor
import SwitchmanCore

/// One libpq connection kept open across queries, driven on an event loop without ever blocking it:
/// `PQconnectStartParams` + `PQconnectPoll` by the socket's readiness, then `PQsendQuery` per run.
///
/// Loop-confined. It owns its `PGconn` (and so the socket libpq opened). A run that fails, or does
/// not finish within its timeout, drops the connection; the next run connects afresh. Each run's
/// completion is called exactly once, on the loop, unless ``close()`` comes first.
public final class SQLConnection: EventHandler, @unchecked Sendable {
    // @unchecked: created and driven on one loop thread only.

    private enum Phase { case disconnected, connecting, ready, querying }

    private let loop: EventLoop
    private let parameters: [(String, String)]
    private var connection: OpaquePointer?
    private var fd: Int32 = -1
    private var registration: Registration?
    private var phase: Phase = .disconnected
    private var timer: TimerID?
    private var query: String?
    private var completion: ((SQLProbeResult) -> Void)?
    /// A result already read while libpq still waits for the end of the answer.
    private var pendingOutcome: SQLProbeResult?
    /// Inside ``run(_:timeout:completion:)``: a run that ends there reports on the next turn, so a
    /// caller never sees its completion run before `run` returns.
    private var inRun = false
    /// Whether the last failed run failed while connecting (refused, authentication, a node starting
    /// up), as opposed to on a connection that was open: the latter may be this session's own end
    /// (`pg_terminate_backend`, an idle timeout), not the node's.
    public private(set) var lastFailureWhileConnecting = false

    /// A connection to `endpoint` at `address` (resolved off the loop), opened by the first ``run``.
    public init(loop: EventLoop, endpoint: Endpoint, address: SocketAddress, credentials: SQLCheckConfiguration) {
        self.loop = loop
        parameters = SQLProbe.connectionParameters(endpoint: endpoint, address: address, credentials: credentials)
    }

    deinit {
        if let connection { PQfinish(connection) }
    }

    /// Called when the server closes the connection while it is idle (a restart, a crash, an
    /// administrator's command): the owner may want to check again at once rather than at its next turn.
    public var onIdleClose: (() -> Void)?

    /// Whether a connection is open and idle (the next run sends its query at once).
    public var isConnected: Bool { phase == .ready }

    /// Runs `query`, connecting first if needed; `completion` gets its first row or why it failed.
    /// One run at a time: a run started while another is under way fails at once.
    public func run(_ query: String, timeout: Duration, completion: @escaping (SQLProbeResult) -> Void) {
        loop.assertInLoop()
        guard self.completion == nil else {
            loop.executeSoon { completion(.failed("a check is still running")) }
            return
        }
        self.query = query
        self.completion = completion
        pendingOutcome = nil
        inRun = true
        defer { inRun = false }
        timer = loop.schedule(after: timeout) { [weak self] in
            self?.fail("no answer within \(timeout.humanReadable)")
        }
        switch phase {
        case .ready:
            sendQuery()
        case .disconnected:
            connect()
        case .connecting, .querying:
            break  // unreachable: a run is under way only with a completion set
        }
    }

    /// Closes the connection; a run under way is abandoned without its completion.
    public func close() {
        completion = nil
        disconnect()
    }

    public func handleEvents(_ events: EpollEvents, token: UInt32) {
        guard let connection else { return }
        switch phase {
        case .connecting:
            switch PQconnectPoll(connection) {
            case PGRES_POLLING_READING: watch(writable: false)
            case PGRES_POLLING_WRITING: watch(writable: true)
            case PGRES_POLLING_OK: sendQuery()
            default: fail(Self.errorText(connection))
            }
        case .querying:
            readAnswer(connection)
        case .ready:
            // Idle: the server closed the connection (restart, admin shutdown) or sent a notice.
            if PQconsumeInput(connection) == 0 || PQstatus(connection) == CONNECTION_BAD {
                disconnect()
                onIdleClose?()
            }
        case .disconnected:
            return
        }
    }

    private func connect() {
        phase = .connecting
        connection = Self.connectStart(parameters)
        guard let connection, PQstatus(connection) != CONNECTION_BAD else {
            fail(connection.map { Self.errorText($0) } ?? "out of memory")
            return
        }
        PQsetnonblocking(connection, 1)
        // Server notices on a check session (a WARNING, a NOTICE) are nobody's business: libpq's
        // default processor would print them on stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // As documented for PQconnectStart: behave as if PQconnectPoll had answered "writing".
        watch(writable: true)
    }

    private func sendQuery() {
        guard let connection, let query else { return }
        phase = .querying
        guard PQsendQuery(connection, query) != 0 else {
            fail(Self.errorText(connection))
            return
        }
        // A short query nearly always fits in the socket buffer; if not, wait for writability.
        watch(writable: PQflush(connection) == 1)
    }

    private func readAnswer(_ connection: OpaquePointer) {
        // Send what the socket did not take yet; wait for writability rather than spin.
        switch PQflush(connection) {
        case 0: break
        case 1:
            watch(writable: true)
            return
        default:
            fail(Self.errorText(connection))
            return
        }
        watch(writable: false)
        guard PQconsumeInput(connection) != 0 else {
            fail(Self.errorText(connection))
            return
        }
        if PQisBusy(connection) != 0 { return }
        var outcome: SQLProbeResult = pendingOutcome ?? .failed("no result")
        // PQgetResult only while it will not block (the rest of the answer may arrive later).
        while PQisBusy(connection) == 0, let result = PQgetResult(connection) {
            defer { PQclear(result) }
            if PQresultStatus(result) == PGRES_TUPLES_OK, PQntuples(result) > 0 {
                var row: [String?] = []
                for column in 0..<PQnfields(result) {
                    row.append(PQgetisnull(result, 0, column) != 0 ? nil : String(cString: PQgetvalue(result, 0, column)))
                }
                outcome = .row(row)
            } else if PQresultStatus(result) != PGRES_TUPLES_OK {
                outcome = .failed(String(cString: PQresultErrorMessage(result)).trimmedLine)
            }
        }
        if PQisBusy(connection) != 0 {
            pendingOutcome = outcome
            return
        }
        pendingOutcome = nil
        if case .failed = outcome, PQstatus(connection) == CONNECTION_BAD {
            fail(Self.errorText(connection))
            return
        }
        phase = .ready
        finishRun(outcome)
    }

    /// (Re)registers libpq's current socket; libpq may switch sockets while connecting (e.g. retrying
    /// without SSL), in which case it already closed the old one.
    private func watch(writable: Bool) {
        guard let connection else { return }
        let current = PQsocket(connection)
        let events: EpollEvents = writable ? [.writable] : [.readable]
        do {
            if current != fd || registration == nil {
                if let registration { loop.forget(registration) }
                registration = nil
                fd = current
                guard fd >= 0 else {
                    fail(Self.errorText(connection))
                    return
                }
                registration = try loop.register(fd, events: events, handler: self)
            } else if let registration {
                do {
                    try loop.modify(fd, registration, events: events)
                } catch {
                    // libpq closed its socket and opened another that got the same number (moving on to
                    // the next address, or retrying without SSL): the old registration died with it.
                    loop.forget(registration)
                    self.registration = try loop.register(fd, events: events, handler: self)
                }
            }
        } catch {
            fail("epoll: \(error)")
        }
    }

    /// Ends the run with `message` and drops the connection (its state is unknown now).
    private func fail(_ message: String) {
        lastFailureWhileConnecting = phase == .connecting || phase == .disconnected
        disconnect()
        finishRun(.failed(message))
    }

    private func finishRun(_ result: SQLProbeResult) {
        if let timer { loop.cancel(timer) }
        timer = nil
        query = nil
        let completion = self.completion
        self.completion = nil
        if inRun {
            loop.executeSoon { completion?(result) }
        } else {
            completion?(result)
        }
    }

    private func disconnect() {
        if let registration, fd >= 0 {
            // libpq may have closed its socket already (a failed poll): the number may be another's now.
            if let connection, PQsocket(connection) == fd { loop.deregister(fd, registration) } else { loop.forget(registration) }
        }
        registration = nil
        if let connection { PQfinish(connection) }  // closes libpq's socket
        connection = nil
        fd = -1
        phase = .disconnected
        pendingOutcome = nil
        if completion == nil, let timer {
            loop.cancel(timer)
            self.timer = nil
        }
    }

    private static func connectStart(_ parameters: [(String, String)]) -> OpaquePointer? {
        // libpq wants NULL-terminated arrays of C strings; keep them alive for the call.
        let keys = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keys.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        return keyPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in
                PQconnectStartParams(k.baseAddress, v.baseAddress, 0)
            }
        }
    }

    static func errorText(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmedLine
    }
}

extension String {
    /// Without trailing whitespace, its lines joined by spaces: libpq's messages on one log line.
    var trimmedLine: String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
