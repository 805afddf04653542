import CLibPQ
import Glibc

/// A libpq connection for tests (blocking calls, bounded by `connect_timeout` and poll timeouts).
final class LibPQClient {
    let connection: OpaquePointer

    private init(_ connection: OpaquePointer) {
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    /// Connects with verbose errors, so a start-up failure's text carries its SQLSTATE
    /// (`FATAL:  57P03: …`): libpq offers no other way to read it for a connection that failed.
    /// Returns the client, or the error text.
    static func connect(_ conninfo: String, timeoutSeconds: Int32 = 20) -> Result<LibPQClient, ConnectError> {
        guard let connection = PQconnectStart(conninfo) else { return .failure(ConnectError(message: "out of memory")) }
        let client = LibPQClient(connection)
        if PQstatus(connection) == CONNECTION_BAD { return .failure(ConnectError(message: client.errorMessage)) }
        PQsetErrorVerbosity(connection, PQERRORS_VERBOSE)
        var status = PGRES_POLLING_WRITING
        while true {
            switch status {
            case PGRES_POLLING_OK:
                return .success(client)
            case PGRES_POLLING_FAILED:
                return .failure(ConnectError(message: client.errorMessage))
            default:
                var fd = pollfd(fd: PQsocket(connection), events: Int16(status == PGRES_POLLING_READING ? POLLIN : POLLOUT), revents: 0)
                if poll(&fd, 1, timeoutSeconds * 1000) <= 0 {
                    return .failure(ConnectError(message: "timed out waiting for the server"))
                }
                status = PQconnectPoll(connection)
            }
        }
    }

    struct ConnectError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    var errorMessage: String { String(cString: PQerrorMessage(connection)) }

    /// Whether the connection runs over TLS.
    var usesTLS: Bool { PQsslInUse(connection) == 1 }

    /// The client side's local port (what the proxy sees as the client's port).
    var localPort: UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(PQsocket(connection), $0, &length) == 0 }
        }
        return ok ? UInt16(bigEndian: address.sin_port) : nil
    }

    /// Runs `sql` and returns the first column of the first row, or throws the error's SQLSTATE and text.
    func value(_ sql: String) throws -> String? {
        guard let result = PQexec(connection, sql) else { throw QueryError(sqlstate: nil, message: errorMessage) }
        defer { PQclear(result) }
        return try Self.firstValue(result, connection: connection)
    }

    /// Sends `sql` without waiting for its result.
    func send(_ sql: String) -> Bool { PQsendQuery(connection, sql) == 1 }

    /// Waits for the result of a sent query: its first value, or the error.
    func result() -> Result<String?, QueryError> {
        guard let result = PQgetResult(connection) else { return .failure(QueryError(sqlstate: nil, message: "no result")) }
        defer {
            PQclear(result)
            while let rest = PQgetResult(connection) { PQclear(rest) }
        }
        do {
            return .success(try Self.firstValue(result, connection: connection))
        } catch {
            return .failure(error)
        }
    }

    /// libpq's `PQcancel` (a CancelRequest on a new connection to the same address).
    func cancel() -> (Bool, String) {
        guard let handle = PQgetCancel(connection) else { return (false, "no cancel handle") }
        defer { PQfreeCancel(handle) }
        var buffer = [CChar](repeating: 0, count: 256)
        let ok = PQcancel(handle, &buffer, Int32(buffer.count)) == 1
        return (ok, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    struct QueryError: Error, CustomStringConvertible {
        let sqlstate: String?
        let message: String
        var description: String { "\(sqlstate ?? "-----"): \(message)" }
    }

    private static func firstValue(_ result: OpaquePointer, connection: OpaquePointer) throws(QueryError) -> String? {
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK:
            guard PQntuples(result) > 0, PQnfields(result) > 0, PQgetisnull(result, 0, 0) == 0 else { return nil }
            return String(cString: PQgetvalue(result, 0, 0))
        case PGRES_COMMAND_OK:
            return nil
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            throw QueryError(sqlstate: state, message: String(cString: PQresultErrorMessage(result)))
        }
    }
}
