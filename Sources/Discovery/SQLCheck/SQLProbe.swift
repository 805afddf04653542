import CLibPQ
import Glibc
import PosixIO
import Reactor
import SwitchmanCore

/// What a probe of one PostgreSQL node found.
public enum SQLProbeResult: Sendable, Equatable {
    /// The query ran; its first row's columns as text (`nil` for SQL NULL).
    case row([String?])
    /// Connecting, authenticating or the query failed; the text says which and why.
    case failed(String)
}

/// One libpq connection that runs one query on an event loop without ever blocking it:
/// `PQconnectStartParams` + `PQconnectPoll` driven by the socket's readiness, then `PQsendQuery`.
///
/// Loop-confined. The probe owns its `PGconn` (and so the socket libpq opened) and finishes it
/// when done, when cancelled, or at its deadline; `completion` runs exactly once, on the loop.
public final class SQLProbe: EventHandler, @unchecked Sendable {
    // @unchecked: created and driven on one loop thread only.

    private enum Phase { case connecting, querying, done }

    private let loop: EventLoop
    private let query: String
    private var connection: OpaquePointer?
    private var fd: Int32 = -1
    private var registration: Registration?
    private var phase: Phase = .connecting
    private var timer: TimerID?
    private var completion: ((SQLProbeResult) -> Void)?
    /// A result already read while libpq still waits for the end of the answer.
    private var pendingOutcome: SQLProbeResult?

    /// Starts connecting to `endpoint` at `address` (already resolved, off the loop) and will run
    /// `query`. Must be called on `loop`.
    public init(loop: EventLoop, endpoint: Endpoint, address: SocketAddress, credentials: SQLCheckConfiguration, query: String,
                completion: @escaping (SQLProbeResult) -> Void) {
        self.loop = loop
        self.query = query
        self.completion = completion
        connection = Self.connectStart(Self.connectionParameters(endpoint: endpoint, address: address, credentials: credentials))
        timer = loop.schedule(after: credentials.timeout) { [weak self] in
            self?.finish(.failed("no answer within \(credentials.timeout.humanReadable)"))
        }
        guard let connection, PQstatus(connection) != CONNECTION_BAD else {
            let message = connection.map { Self.errorText($0) } ?? "out of memory"
            // Report on the next turn so the caller never sees its completion run inside init.
            loop.executeSoon { [weak self] in self?.finish(.failed(message)) }
            return
        }
        PQsetnonblocking(connection, 1)
        // As documented for PQconnectStart: behave as if PQconnectPoll had answered "writing".
        watch(writable: true)
    }

    /// Abandons the probe; the completion is not called.
    public func cancel() {
        completion = nil
        finish(.failed("cancelled"))
    }

    public func handleEvents(_ events: EpollEvents, token: UInt32) {
        guard let connection else { return }
        switch phase {
        case .connecting:
            switch PQconnectPoll(connection) {
            case PGRES_POLLING_READING: watch(writable: false)
            case PGRES_POLLING_WRITING: watch(writable: true)
            case PGRES_POLLING_OK: sendQuery()
            default: finish(.failed(Self.errorText(connection)))
            }
        case .querying:
            // Send what the socket did not take yet; wait for writability rather than spin.
            switch PQflush(connection) {
            case 0: break
            case 1:
                watch(writable: true)
                return
            default:
                finish(.failed(Self.errorText(connection)))
                return
            }
            watch(writable: false)
            guard PQconsumeInput(connection) != 0 else {
                finish(.failed(Self.errorText(connection)))
                return
            }
            if PQisBusy(connection) != 0 { return }
            var outcome: SQLProbeResult = .failed("no result")
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
                    outcome = .failed(String(cString: PQresultErrorMessage(result)).trimmed)
                }
            }
            if PQisBusy(connection) != 0 {
                pendingOutcome = outcome
                return
            }
            finish(pendingOutcome.map { outcome == .failed("no result") ? $0 : outcome } ?? outcome)
        case .done:
            return
        }
    }

    private func sendQuery() {
        guard let connection else { return }
        phase = .querying
        guard PQsendQuery(connection, query) != 0 else {
            finish(.failed(Self.errorText(connection)))
            return
        }
        // A short query nearly always fits in the socket buffer; if not, wait for writability.
        watch(writable: PQflush(connection) == 1)
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
                    finish(.failed(Self.errorText(connection)))
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
            finish(.failed("epoll: \(error)"))
        }
    }

    private func finish(_ result: SQLProbeResult) {
        guard phase != .done || connection != nil else { return }
        phase = .done
        if let timer { loop.cancel(timer) }
        timer = nil
        if let registration, fd >= 0 { loop.deregister(fd, registration) }
        registration = nil
        if let connection { PQfinish(connection) }  // closes libpq's socket
        connection = nil
        fd = -1
        let completion = self.completion
        self.completion = nil
        completion?(result)
    }

    /// libpq's connection parameters. `hostaddr` carries the resolved address, so libpq never
    /// looks a name up on the loop thread; `host` keeps the name for libpq's messages (and a
    /// passfile's host field).
    static func connectionParameters(endpoint: Endpoint, address: SocketAddress,
                                     credentials: SQLCheckConfiguration) -> [(String, String)] {
        let timeoutSeconds = max(1, Int(credentials.timeout.components.seconds))
        var parameters: [(String, String)] = [
            ("host", endpoint.host), ("hostaddr", address.host), ("port", String(address.port)), ("user", credentials.user),
            ("dbname", credentials.database), ("application_name", "switchman-check"),
            ("connect_timeout", String(timeoutSeconds)), ("gssencmode", "disable"),
        ]
        if let password = credentials.password { parameters.append(("password", password)) }
        if let passfile = credentials.passfile { parameters.append(("passfile", passfile)) }
        return parameters
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

    private static func errorText(_ connection: OpaquePointer) -> String {
        String(cString: PQerrorMessage(connection)).trimmed
    }
}

extension String {
    fileprivate var trimmed: String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text.replacingNewlines
    }

    private var replacingNewlines: String { split(whereSeparator: \.isNewline).joined(separator: " ") }
}

