import PosixIO
import Reactor
import SwitchmanCore

/// What a Patroni REST request of a member returned: the second opinion beside the SQL check.
public struct RESTOutcome: Sendable, Hashable {
    /// The path asked (`/patroni`, or `/primary` for the leader while ZooKeeper is away).
    public var path: String
    /// The HTTP status, `nil` when no answer came.
    public var status: Int?
    /// Why there was no answer.
    public var error: String?
    /// The `GET /patroni` document, when that was asked and it parsed.
    public var patroni: PatroniStatus?

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(path: String, status: Int? = nil, error: String? = nil, patroni: PatroniStatus? = nil) {
        self.path = path
        self.status = status
        self.error = error
        self.patroni = patroni
    }
}

/// Checks members for the coordinator. The real one is ``MemberMonitor``; tests give a fake and
/// feed outcomes by hand.
public protocol MemberChecking: AnyObject {
    /// The members to check from now on (others stop; a changed endpoint starts afresh).
    func update(_ members: [ClusterMember])
    /// Checks `name` every `fast_interval` (and its REST `/primary`) instead of every `interval`;
    /// `nil` puts every member back on `interval`. Set while ZooKeeper is away.
    func checkFast(_ name: String?)
}

/// Switchman's own checks of every member, on one event loop: per member a kept-open
/// ``SQLConnection`` that runs ``MemberReading/query`` every `interval`, and a Patroni REST request
/// after each. Host names are resolved off the loop. Loop-confined.
public final class MemberMonitor: MemberChecking, @unchecked Sendable {
    // @unchecked: used on its loop only.
    /// Called on the loop after every SQL check: member name, outcome, and how it went.
    public typealias SQLHandler = (String, CheckOutcome, SQLCheckRun) -> Void
    /// Called on the loop after every REST request.
    public typealias RESTHandler = (String, RESTOutcome) -> Void

    private let loop: EventLoop
    private let resolver: AddressResolver
    private let credentials: SQLCheckConfiguration
    private let onSQL: SQLHandler
    private let onREST: RESTHandler
    private var checkers: [String: MemberChecker] = [:]
    private var fastMember: String?

    public init(loop: EventLoop, resolver: AddressResolver, credentials: SQLCheckConfiguration,
                onSQL: @escaping SQLHandler, onREST: @escaping RESTHandler) {
        self.loop = loop
        self.resolver = resolver
        self.credentials = credentials
        self.onSQL = onSQL
        self.onREST = onREST
    }

    public func update(_ members: [ClusterMember]) {
        loop.assertInLoop()
        let wanted = Dictionary(members.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (name, checker) in checkers where wanted[name].map({ !checker.checks($0) }) ?? true {
            checker.stop()
            checkers[name] = nil
        }
        for (name, member) in wanted where checkers[name] == nil {
            let checker = MemberChecker(
                loop: loop, resolver: resolver, credentials: credentials, member: member,
                onSQL: { [weak self] outcome, run in self?.onSQL(name, outcome, run) },
                onREST: { [weak self] outcome in self?.onREST(name, outcome) })
            checkers[name] = checker
            checker.fast = name == fastMember
            checker.start()
        }
    }

    public func checkFast(_ name: String?) {
        loop.assertInLoop()
        guard name != fastMember else { return }
        fastMember = name
        for (member, checker) in checkers { checker.fast = member == name }
    }

    /// Stops every check.
    public func stop() {
        for checker in checkers.values { checker.stop() }
        checkers = [:]
    }
}

/// How one SQL check went, beside its outcome.
public struct SQLCheckRun: Sendable, Hashable {
    /// When it started and finished (monotonic nanoseconds).
    public var started: UInt64
    public var finished: UInt64
    /// It failed connecting in a way that says PostgreSQL is down or restarting on the node
    /// (refused, starting up, shutting down, in recovery mode), not slow or refusing credentials.
    public var nodeDown: Bool

    /// Creates the value from its fields (defaults: absent, false, empty).
    public init(started: UInt64, finished: UInt64, nodeDown: Bool = false) {
        self.started = started
        self.finished = finished
        self.nodeDown = nodeDown
    }

    /// Seconds it took.
    public var seconds: Double { Double(finished &- started) / 1e9 }
}

/// One member's checks: resolve, SQL on a kept-open connection, then REST, then wait; again.
final class MemberChecker {
    private let loop: EventLoop
    private let resolver: AddressResolver
    private let credentials: SQLCheckConfiguration
    private let member: ClusterMember
    private let apiURL: PatroniAPIURL?
    private let onSQL: (CheckOutcome, SQLCheckRun) -> Void
    private let onREST: (RESTOutcome) -> Void
    private var address: SocketAddress?
    /// The address `connection` was opened to.
    private var connectionAddress: SocketAddress?
    private var apiAddress: SocketAddress?
    private var connection: SQLConnection?
    private var rest: HTTPProbe?
    private var timer: TimerID?
    private var stopped = false
    private var running = false
    /// On `fast_interval`, asking REST `/primary`; otherwise `interval` and `/patroni`.
    var fast = false {
        didSet {
            // Going fast: check now rather than at the end of a long pause.
            if fast && !oldValue { checkNow() }
        }
    }

    init(loop: EventLoop, resolver: AddressResolver, credentials: SQLCheckConfiguration, member: ClusterMember,
         onSQL: @escaping (CheckOutcome, SQLCheckRun) -> Void, onREST: @escaping (RESTOutcome) -> Void) {
        self.loop = loop
        self.resolver = resolver
        self.credentials = credentials
        self.member = member
        apiURL = member.apiURL.flatMap { try? PatroniAPIURL(parsing: $0) }
        self.onSQL = onSQL
        self.onREST = onREST
    }

    /// Whether this checker's member is `other` (same endpoint and REST address).
    func checks(_ other: ClusterMember) -> Bool {
        member.endpoint == other.endpoint && member.apiURL == other.apiURL
    }

    func start() { tick() }

    /// Checks at once if no check is under way (else the running one will tell).
    func checkNow() {
        guard !stopped, !running, let timer else { return }
        loop.cancel(timer)
        self.timer = nil
        tick()
    }

    func stop() {
        stopped = true
        if let timer { loop.cancel(timer) }
        timer = nil
        connection?.close()
        connection = nil
        rest?.cancel()
        rest = nil
    }

    private func tick() {
        timer = nil
        guard !stopped else { return }
        running = true
        let started = loop.now
        withAddress(host: member.endpoint.host, port: member.endpoint.port, cached: address) { [weak self] result in
            guard let self, !self.stopped else { return }
            switch result {
            case .failure(let failure):
                self.sqlDone(.failed(failure.message), SQLCheckRun(started: started, finished: self.loop.now, nodeDown: false))
            case .success(let address):
                self.address = address
                self.query(at: address, started: started, retryOnLostConnection: true)
            }
        }
    }

    /// The timeout of one check: shorter while the leader is watched every `fast_interval`, so a
    /// node that stopped answering is noticed within a few intervals rather than after `timeout`.
    private var checkTimeout: Duration {
        fast ? min(credentials.timeout, credentials.fastInterval * 10) : credentials.timeout
    }

    /// Runs the check query on the kept-open connection (opened to `address` if there is none).
    private func query(at address: SocketAddress, started: UInt64, retryOnLostConnection: Bool) {
        if connectionAddress != address {
            connection?.close()
            connection = nil
        }
        let connection = self.connection
            ?? SQLConnection(loop: loop, endpoint: member.endpoint, address: address, credentials: credentials)
        self.connection = connection
        connectionAddress = address
        // The server went away between two checks: look again now, not at the next turn.
        connection.onIdleClose = { [weak self] in self?.checkNow() }
        connection.run(MemberReading.query, timeout: checkTimeout) { [weak self] answer in
            guard let self, !self.stopped else { return }
            switch answer {
            case .row(let row):
                let run = SQLCheckRun(started: started, finished: self.loop.now, nodeDown: false)
                if let reading = MemberReading(row: row) {
                    self.sqlDone(.reading(reading), run)
                } else {
                    self.sqlDone(.failed("unexpected answer to the check query: \(row)"), run)
                }
            case .failed(let message):
                let whileConnecting = connection.lastFailureWhileConnecting
                if !whileConnecting && retryOnLostConnection {
                    // The open connection failed: maybe only this session ended (pg_terminate_backend,
                    // idle_session_timeout, a middlebox). A fresh connection tells about the node.
                    self.query(at: address, started: started, retryOnLostConnection: false)
                    return
                }
                // Resolve again next time: the name may point elsewhere now.
                self.address = nil
                self.sqlDone(.failed(message), SQLCheckRun(started: started, finished: self.loop.now,
                                                        nodeDown: whileConnecting && Self.meansNodeDown(message)))
            }
        }
    }

    /// Whether a failed connect means PostgreSQL is down or restarting on that node (a new session
    /// there would fail, or meet a node that may come back read-only), rather than a slow or busy
    /// node, or one that refuses the check's credentials.
    static func meansNodeDown(_ error: String) -> Bool {
        let lower = error.lowercased()
        return ["connection refused", "the database system is starting up", "the database system is shutting down",
                "the database system is in recovery mode", "the database system is not yet accepting connections",
                "server closed the connection unexpectedly"].contains { lower.contains($0) }
    }

    private func sqlDone(_ outcome: CheckOutcome, _ run: SQLCheckRun) {
        onSQL(outcome, run)
        guard !stopped else { return }
        askREST()
    }

    private func askREST() {
        guard let apiURL else {
            scheduleNext()
            return
        }
        let path = apiURL.requestPath(for: fast ? .primary : .patroni)
        withAddress(host: apiURL.host, port: apiURL.port, cached: apiAddress) { [weak self] result in
            guard let self, !self.stopped else { return }
            switch result {
            case .failure(let failure):
                self.restDone(RESTOutcome(path: path, error: failure.message))
            case .success(let address):
                self.apiAddress = address
                self.rest = HTTPProbe(loop: self.loop, address: address, host: apiURL.hostHeader, path: path,
                                      timeout: self.checkTimeout) { [weak self] answer in
                    guard let self, !self.stopped else { return }
                    self.rest = nil
                    switch answer {
                    case .response(let status, let body):
                        let document = path == "/patroni" ? try? PatroniStatus(json: body) : nil
                        self.restDone(RESTOutcome(path: path, status: status, patroni: document))
                    case .failed(let message):
                        self.apiAddress = nil
                        self.restDone(RESTOutcome(path: path, error: message))
                    }
                }
            }
        }
    }

    private func restDone(_ outcome: RESTOutcome) {
        onREST(outcome)
        scheduleNext()
    }

    private func scheduleNext() {
        running = false
        guard !stopped else { return }
        timer = loop.schedule(after: fast ? credentials.fastInterval : credentials.interval) { [weak self] in self?.tick() }
    }

    /// `cached`, or the first address of `host`, delivered on the loop.
    private func withAddress(host: String, port: UInt16, cached: SocketAddress?,
                             _ body: @escaping (Result<SocketAddress, LookupFailure>) -> Void) {
        if let cached { return body(.success(cached)) }
        resolver.firstAddress(host: host, port: port, on: loop, body)
    }
}
