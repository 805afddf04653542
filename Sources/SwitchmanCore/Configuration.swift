/// The whole of `proxy.conf`: what the proxy listens on, where it sends connections, its limits.
///
/// Every default lives in the initialisers of these structs (and nowhere else); `proxy.conf.example`
/// documents each key with the same default, and a test checks that the two agree.
public struct ProxyConfiguration: Sendable, Equatable {
    /// Event loop threads; `nil` means one per CPU this process may use (affinity and cgroup quota).
    public internal(set) var threads: Int?
    /// Sessions open at once, over all listeners.
    public let maxconn: Int
    /// Timeouts applying to every listener.
    public let timeouts: Timeouts
    /// One log line per finished session (like HAProxy's tcplog).
    public let logSessions: Bool
    /// Whether bytes move through `splice(2)` pipes or user-space buffers.
    public let splice: SpliceMode
    /// Capacity asked of each splice pipe (`F_SETPIPE_SZ`), in bytes.
    public let pipeSize: Int
    /// Splice pipes per event loop at most (in use or kept for reuse); when all are in use, further
    /// transfers use read/write. Bounds the descriptors (two per pipe) and kernel memory pipes pin.
    public let pipePoolSize: Int
    /// Size of each user-space buffer of the read/write path, in bytes.
    public let bufferSize: Int
    /// Kernel TCP keepalive on both sockets of a session; `nil` leaves it off.
    public let tcpKeepalive: TCPKeepalive?
    /// How long a resolved host name is trusted before it is resolved again.
    public let resolveTTL: Duration
    /// The ports Switchman listens on.
    public let listeners: [ListenerConfiguration]
    /// The operators' HTTP page.
    public internal(set) var stats: StatsConfiguration
    /// The Patroni cluster to follow; `nil` when only static listeners are used.
    public internal(set) var cluster: ClusterConfiguration?

    public init(
        threads: Int? = nil,
        maxconn: Int = 10_000,
        timeouts: Timeouts = Timeouts(),
        logSessions: Bool = true,
        splice: SpliceMode = .auto,
        pipeSize: Int = 1 << 20,
        pipePoolSize: Int = 64,
        bufferSize: Int = 16 * 1024,
        tcpKeepalive: TCPKeepalive? = TCPKeepalive(),
        resolveTTL: Duration = .seconds(30),
        listeners: [ListenerConfiguration] = [],
        stats: StatsConfiguration = StatsConfiguration(),
        cluster: ClusterConfiguration? = nil
    ) {
        self.threads = threads
        self.maxconn = maxconn
        self.timeouts = timeouts
        self.logSessions = logSessions
        self.splice = splice
        self.pipeSize = pipeSize
        self.pipePoolSize = pipePoolSize
        self.bufferSize = bufferSize
        self.tcpKeepalive = tcpKeepalive
        self.resolveTTL = resolveTTL
        self.listeners = listeners
        self.stats = stats
        self.cluster = cluster
    }
}

/// `timeouts:` — every duration that ends a wait.
public struct Timeouts: Sendable, Equatable {
    /// Connecting to a server (EINPROGRESS until writable).
    public let connect: Duration
    /// A session with no bytes from the client for this long is closed.
    public let clientIdle: Duration
    /// A session with no bytes from the server for this long is closed.
    public let serverIdle: Duration
    /// On SIGTERM/SIGINT, how long live sessions may drain before they are cut.
    public let shutdown: Duration
    /// How long a new session may wait for a slot on a server that is at its `server_maxconn`.
    public let queue: Duration
    /// How long a PostgreSQL node may take to answer a session's start-up (its SSLRequest or
    /// StartupMessage) before the session gives it up for the next node, as a 57P03 would.
    public let startupAnswer: Duration

    public init(
        connect: Duration = .seconds(4),
        clientIdle: Duration = .seconds(30 * 60),
        serverIdle: Duration = .seconds(30 * 60),
        shutdown: Duration = .seconds(30),
        queue: Duration = .seconds(5),
        startupAnswer: Duration = .seconds(5)
    ) {
        self.connect = connect
        self.clientIdle = clientIdle
        self.serverIdle = serverIdle
        self.shutdown = shutdown
        self.queue = queue
        self.startupAnswer = startupAnswer
    }
}

/// `splice: auto | on | off`.
public enum SpliceMode: String, Sendable, Equatable, CaseIterable {
    /// Read/write for small messages; a direction switches to splice once it carries bulk data.
    case auto
    /// Always splice (falls back to read/write only when no pipe can be had).
    case on
    /// Never splice.
    case off
}

/// `tcp_keepalive: { idle, interval, count }` (or `off`).
public struct TCPKeepalive: Sendable, Equatable {
    /// TCP_KEEPIDLE
    public let idle: Duration
    /// TCP_KEEPINTVL
    public let interval: Duration
    /// TCP_KEEPCNT
    public let count: Int

    public init(idle: Duration = .seconds(60), interval: Duration = .seconds(10), count: Int = 6) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}

/// A `host:port` pair as written in the config: the host may be an IPv4/IPv6 literal or a name
/// (a compose service name) that is resolved off the event loops.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or address literal, without IPv6 brackets.
    public let host: String
    /// TCP port.
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    // `utf8.contains` rather than `contains(":")`, which resolves to Foundation's slow substring search.
    public var description: String { host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What a listener forwards to.
public enum ListenerRole: String, Sendable, Equatable, CaseIterable {
    /// The fixed `servers` list.
    case `static`
    /// The cluster's confirmed leader only.
    case primary
    /// Healthy replicas of the cluster.
    case replica
}

/// `balance:` — how a server is chosen among the candidates.
public enum BalanceAlgorithm: String, Sendable, Equatable, CaseIterable {
    case roundrobin
    case leastconn
}

/// `fallback:` for a replica listener that has no eligible replica.
public enum ReplicaFallback: String, Sendable, Equatable, CaseIterable {
    /// Send reads to the leader.
    case primary
    /// Refuse (with a clear error).
    case none
}

/// `client_address:` — whether the client's address reaches the database with its start-up.
public enum ClientAddressForwarding: String, Sendable, Equatable, CaseIterable {
    /// The StartupMessage goes on as the client sent it.
    case none
    /// `application_name` becomes `<original> [<client ip:port>]` (``ApplicationNameTag``), for
    /// plaintext sessions; an encrypted start-up cannot be rewritten and goes on untouched.
    case application_name
}

/// One entry of `listeners:`.
public struct ListenerConfiguration: Sendable, Equatable {
    /// Unique name, used in logs, stats and environment overrides.
    public let name: String
    /// Address and port to listen on.
    public let bind: Endpoint
    /// Where its sessions go.
    public let role: ListenerRole
    /// Servers of a `static` listener (empty for cluster roles).
    public let servers: [Endpoint]
    /// Server choice among the candidates.
    public let balance: BalanceAlgorithm
    /// Sessions open at once on this listener; `nil` means only the global limit.
    public let maxconn: Int?
    /// Sessions open at once per server; over it, new sessions queue up to `timeouts.queue`.
    public let serverMaxconn: Int?
    /// Sessions that may wait in a server's queue; past it, they are refused.
    public let queueMax: Int
    /// Further servers tried after a connect is refused, times out or finds no route.
    public let retries: Int
    /// Replica role: replicas lagging more than this (bytes of WAL, replay time, or both) take no new
    /// sessions; `nil` means no limit.
    public let maxLag: LagLimit?
    /// Replica role: where reads go when no replica is eligible.
    public let fallback: ReplicaFallback
    /// Replica role: a replica going over `max_lag` also loses its open sessions (by default they stay).
    public let closeOnLag: Bool
    /// Replica role: only replicas whose WAL receiver streams (not restoring from the archive).
    public let requireStreaming: Bool
    /// Replica role: only the synchronous standbys the `sync` znode names.
    public let syncOnly: Bool
    /// Replica role: only members whose Patroni tags have these values (`tags: {dc: east}`).
    public let tags: [String: String]
    /// Whether the client's address is written into the start-up's `application_name`.
    public let clientAddress: ClientAddressForwarding

    public init(
        name: String,
        bind: Endpoint,
        role: ListenerRole = .static,
        servers: [Endpoint] = [],
        balance: BalanceAlgorithm = .roundrobin,
        maxconn: Int? = nil,
        serverMaxconn: Int? = nil,
        queueMax: Int = 1000,
        retries: Int = 2,
        maxLag: LagLimit? = nil,
        fallback: ReplicaFallback = .primary,
        closeOnLag: Bool = false,
        requireStreaming: Bool = false,
        syncOnly: Bool = false,
        tags: [String: String] = [:],
        clientAddress: ClientAddressForwarding = .none
    ) {
        self.name = name
        self.bind = bind
        self.role = role
        self.servers = servers
        self.balance = balance
        self.maxconn = maxconn
        self.serverMaxconn = serverMaxconn
        self.queueMax = queueMax
        self.retries = retries
        self.maxLag = maxLag
        self.fallback = fallback
        self.closeOnLag = closeOnLag
        self.requireStreaming = requireStreaming
        self.syncOnly = syncOnly
        self.tags = tags
        self.clientAddress = clientAddress
    }
}

/// `stats:` — the HTTP page for operators.
public struct StatsConfiguration: Sendable, Equatable {
    /// Where the page listens.
    public let bind: Endpoint
    /// How often the HTML page polls `/stats.json`.
    public let refresh: Duration
    /// `user:password` for basic auth on everything but `/health`; `nil` leaves the page open.
    public let auth: String?
    /// Credentials for the runtime controls (`POST /admin/...`); `nil` turns the controls off.
    public let admin: StatsAdminConfiguration?

    public init(
        bind: Endpoint = Endpoint(host: "0.0.0.0", port: 7000), refresh: Duration = .seconds(2), auth: String? = nil,
        admin: StatsAdminConfiguration? = nil
    ) {
        self.bind = bind
        self.refresh = refresh
        self.auth = auth
        self.admin = admin
    }
}

/// `stats.admin:` — who may use the runtime controls (drain, maint, ready, shutdown-sessions, pause,
/// resume), with HTTP basic auth.
public struct StatsAdminConfiguration: Sendable, Equatable {
    /// The basic-auth user name (no `:`); it is what the log names as the actor.
    public let user: String
    /// The password, from `password` or read from `password_file` when the configuration is loaded.
    public let password: String

    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// `user:password`, as ``BasicAuth`` compares it.
    public var credential: String { "\(user):\(password)" }
}

/// `cluster:` — the Patroni cluster followed through ZooKeeper.
public struct ClusterConfiguration: Sendable, Equatable {
    /// Patroni's `scope` (the cluster name).
    public let scope: String
    /// Patroni's `namespace`, with its leading slash.
    public let namespace: String
    /// The ZooKeeper ensemble.
    public let zookeeper: ZooKeeperConfiguration
    /// Credentials Switchman uses to confirm a promotion over SQL.
    public let check: SQLCheckConfiguration
    /// How long new primary-port connections wait for a confirmed leader.
    public let holdTimeout: Duration
    /// How many connections may wait at once; past it, new ones are refused with an error.
    public let holdMax: Int
    /// What writes do while ZooKeeper is unreachable or the session expired.
    public let onDCSLoss: DCSLossPolicy

    public init(
        scope: String,
        namespace: String = "/service",
        zookeeper: ZooKeeperConfiguration,
        check: SQLCheckConfiguration = SQLCheckConfiguration(),
        holdTimeout: Duration = .seconds(30),
        holdMax: Int = 1000,
        onDCSLoss: DCSLossPolicy = .verify
    ) {
        self.scope = scope
        self.namespace = namespace
        self.zookeeper = zookeeper
        self.check = check
        self.holdTimeout = holdTimeout
        self.holdMax = holdMax
        self.onDCSLoss = onDCSLoss
    }
}

/// `cluster.on_dcs_loss:` — writes while ZooKeeper is gone.
public enum DCSLossPolicy: String, Sendable, Equatable, CaseIterable {
    /// Keep routing writes to the last confirmed leader only while its SQL check (every
    /// `fast_interval`) says it is out of recovery and its Patroni REST answers 200 on `/primary`;
    /// the first answer otherwise, or none, holds writes. Matches Patroni's `failsafe_mode`.
    case verify
    /// Keep the last picture until the ZooKeeper session expires, then hold writes.
    case failClosed = "fail_closed"
}

/// `cluster.zookeeper:`
public struct ZooKeeperConfiguration: Sendable, Equatable {
    /// `host:port` of each ensemble member.
    public let hosts: [Endpoint]
    /// The session timeout asked of the server (which caps it at 20 × tickTime).
    public let sessionTimeout: Duration
    /// `digest:user:password`, added with `zoo_add_auth`; `nil` for none.
    public let auth: String?

    public init(hosts: [Endpoint], sessionTimeout: Duration = .seconds(10), auth: String? = nil) {
        self.hosts = hosts
        self.sessionTimeout = sessionTimeout
        self.auth = auth
    }
}

/// `cluster.check:` — how Switchman logs in to PostgreSQL for its own checks.
public struct SQLCheckConfiguration: Sendable, Equatable {
    /// Role name.
    public let user: String
    /// Password; `nil` to rely on `passfile` or trust.
    public let password: String?
    /// A libpq passfile.
    public let passfile: String?
    /// Database to connect to.
    public let database: String
    /// Pause between two checks of each member (its kept-open connection runs one query each time).
    public let interval: Duration
    /// Pause between two probes of a new leader before it is confirmed, and between two checks of the
    /// leader while ZooKeeper is away (`on_dcs_loss: verify`).
    public let fastInterval: Duration
    /// A probe that has not answered within this is abandoned.
    public let timeout: Duration
    /// Good checks in a row before a failing member (or a lagging replica) is trusted again.
    public let rise: Int
    /// Failed checks in a row before a member counts as failing.
    public let fall: Int
    /// A replica excluded for lag comes back only after this long steadily under half its `max_lag`.
    public let minDwell: Duration

    public init(
        user: String = "postgres",
        password: String? = nil,
        passfile: String? = nil,
        database: String = "postgres",
        interval: Duration = .seconds(1),
        fastInterval: Duration = .milliseconds(50),
        timeout: Duration = .seconds(2),
        rise: Int = 2,
        fall: Int = 3,
        minDwell: Duration = .seconds(10)
    ) {
        self.user = user
        self.password = password
        self.passfile = passfile
        self.database = database
        self.interval = interval
        self.fastInterval = fastInterval
        self.timeout = timeout
        self.rise = rise
        self.fall = fall
        self.minDwell = minDwell
    }

    /// How the checks are counted.
    public var counting: CheckCounting { CheckCounting(rise: rise, fall: fall, minDwell: minDwell) }
}
