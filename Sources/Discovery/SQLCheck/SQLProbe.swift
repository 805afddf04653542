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

/// One query on a fresh connection (an ``SQLConnection`` opened for it and closed after), without
/// ever blocking the loop: the promotion probe.
///
/// Loop-confined. `completion` runs exactly once, on the loop, unless ``cancel()`` comes first; the
/// probe keeps itself alive until then.
public final class SQLProbe: @unchecked Sendable {
    // @unchecked: created and driven on one loop thread only.
    private let connection: SQLConnection
    private var completion: ((SQLProbeResult) -> Void)?

    /// Starts connecting to `endpoint` at `address` (already resolved, off the loop) and will run
    /// `query`. Must be called on `loop`.
    public init(loop: EventLoop, endpoint: Endpoint, address: SocketAddress, credentials: SQLCheckConfiguration, query: String,
                completion: @escaping (SQLProbeResult) -> Void) {
        connection = SQLConnection(loop: loop, endpoint: endpoint, address: address, credentials: credentials)
        self.completion = completion
        // The run's closure holds the probe (and so the connection) until it answers.
        connection.run(query, timeout: credentials.timeout) { [self] result in
            connection.close()
            let completion = self.completion
            self.completion = nil
            completion?(result)
        }
    }

    /// Abandons the probe; the completion is not called.
    public func cancel() {
        completion = nil
        connection.close()
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
}
