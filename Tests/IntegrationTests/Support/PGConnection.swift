import Foundation
import CLibPQ

/// An error from libpq: a failed connect, a failed statement, or a connection that broke.
struct PGError: Error, CustomStringConvertible {
    /// The SQLSTATE of a failed statement; `nil` for connect failures and broken connections
    /// (libpq gives no result object to read it from; see `isShuttingDown`).
    let sqlstate: String?
    /// libpq's message, first line.
    let message: String
    /// Whether the connection is unusable afterwards.
    let connectionLost: Bool

    var description: String { "\(sqlstate.map { "[\($0)] " } ?? "")\(message)" }

    /// 25006: the statement reached a read-only (recovering) node.
    var isReadOnly: Bool { sqlstate == "25006" }

    /// 57P03 "the database system is shutting down", as a connect failure carries it (text only).
    var isShuttingDown: Bool { sqlstate == "57P03" || message.contains("the database system is shutting down") }
}

/// A blocking libpq connection, for tests. Not thread-safe: one thread uses it at a time.
final class PGConnection {
    private let connection: OpaquePointer

    /// Connects with libpq's blocking API; `connectTimeout` bounds the whole start-up (a connection held
    /// by Switchman during a failover waits within it), `statementTimeout` every statement.
    init(host: String = "127.0.0.1", port: Int, user: String = "postgres", password: String = "postgres",
         connectTimeout: Int = 10, statementTimeoutMilliseconds: Int = 5000) throws(PGError) {
        let conninfo = "host=\(host) port=\(port) user=\(user) password=\(password) dbname=postgres "
            + "connect_timeout=\(connectTimeout) application_name=switchman-integration "
            + "options='-c statement_timeout=\(statementTimeoutMilliseconds)'"
        guard let connection = PQconnectdb(conninfo) else {
            throw PGError(sqlstate: nil, message: "PQconnectdb returned NULL (out of memory)", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.firstLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw PGError(sqlstate: message.contains("shutting down") ? "57P03" : nil, message: message, connectionLost: true)
        }
        self.connection = connection
    }

    /// Connects with a whole libpq connection string (multi-host forms included).
    init(conninfo: String) throws(PGError) {
        guard let connection = PQconnectdb(conninfo) else {
            throw PGError(sqlstate: nil, message: "PQconnectdb returned NULL (out of memory)", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.firstLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw PGError(sqlstate: nil, message: message, connectionLost: true)
        }
        self.connection = connection
    }

    deinit {
        PQfinish(connection)
    }

    /// Whether libpq considers the connection broken.
    var isBroken: Bool { PQstatus(connection) != CONNECTION_OK }

    /// Runs one statement; returns its rows (text values, `nil` for NULL).
    @discardableResult
    func query(_ sql: String) throws(PGError) -> [[String?]] {
        guard let result = PQexec(connection, sql) else {
            throw PGError(sqlstate: nil, message: Self.firstLine(PQerrorMessage(connection)), connectionLost: isBroken)
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
            var rows: [[String?]] = []
            for row in 0..<PQntuples(result) {
                rows.append((0..<PQnfields(result)).map { column in
                    PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
                })
            }
            return rows
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }  // PG_DIAG_SQLSTATE
            let message = Self.firstLine(PQresultErrorMessage(result))
            throw PGError(sqlstate: state, message: message.isEmpty ? Self.firstLine(PQerrorMessage(connection)) : message,
                          connectionLost: isBroken)
        }
    }

    /// The first value of the first row.
    func value(_ sql: String) throws(PGError) -> String? {
        try query(sql).first?.first ?? nil
    }

    /// `(pg_is_in_recovery(), inet_server_port())` of the node this connection reached.
    func whereAmI() throws(PGError) -> (inRecovery: Bool, port: Int) {
        let row = try query("select pg_is_in_recovery(), inet_server_port()").first ?? []
        return (row.first == "t", Int((row.count > 1 ? row[1] : nil) ?? "") ?? -1)
    }

    /// Sends `sql` without waiting for its answer (libpq's `PQsendQuery`); `awaitBreak` then watches.
    func send(_ sql: String) throws(PGError) {
        guard PQsendQuery(connection, sql) == 1 else {
            throw PGError(sqlstate: nil, message: Self.firstLine(PQerrorMessage(connection)), connectionLost: isBroken)
        }
    }

    /// What the socket's readiness told: an answer read, the connection broken (libpq's message), or
    /// nothing yet.
    enum Readiness {
        case quiet
        case answered
        case broken(String)
    }

    /// libpq's socket, to poll on.
    var socket: Int32 { PQsocket(connection) }

    /// After `poll` said the socket is readable: reads what arrived. `.broken` once libpq finds the
    /// connection closed or reset; `.answered` when a statement's results were complete.
    func readReady() -> Readiness {
        guard PQconsumeInput(connection) == 1 else { return .broken(Self.firstLine(PQerrorMessage(connection))) }
        var answered = false
        while PQisBusy(connection) == 0, let result = PQgetResult(connection) {
            answered = true
            PQclear(result)
        }
        if isBroken { return .broken(Self.firstLine(PQerrorMessage(connection))) }
        return answered ? .answered : .quiet
    }

    private static func firstLine(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        return String(cString: text).split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}
