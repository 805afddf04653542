import Foundation

/// Reads the configuration tree into a `ProxyConfiguration`, checking every value and the rules
/// that tie values together. Defaults come from the configuration structs' initialisers, never from
/// here: an absent key takes the value a default-constructed struct has.
struct ConfigurationDecoder {
    /// The file name put in errors about values that came from the file.
    let file: String

    /// The file name put in errors about values that came from environment variables.
    static let environmentFile = "environment"

    /// An error at `origin`: the file and line with the key path, or the variable that set the value.
    func error(_ origin: ConfigOrigin, _ path: String, _ message: String) -> ConfigurationError {
        switch origin {
        case .file(let line):
            ConfigurationError(file: file, line: line, key: path, message: message)
        case .environment(let variable):
            ConfigurationError(file: Self.environmentFile, line: nil, key: variable, message: message)
        }
    }

    /// The whole configuration.
    func decode(_ root: ConfigNode) throws(ConfigurationError) -> ProxyConfiguration {
        let reader = try MappingReader(root, path: "", known: ConfigurationSchema.root, decoder: self)
        let defaults = ProxyConfiguration()
        let threads = try decodeThreads(reader, default: defaults.threads)
        let maxconn = try reader.int("maxconn", in: 1...Int.max) ?? defaults.maxconn
        let timeouts = try decodeTimeouts(reader.mapping("timeouts", known: ConfigurationSchema.timeouts))
        let logSessions = try reader.bool("log_sessions") ?? defaults.logSessions
        let splice = try reader.choice("splice", SpliceMode.self) ?? defaults.splice
        let pipeSize = try reader.size("pipe_size", in: 4096...(1 << 30)) ?? defaults.pipeSize
        let pipePoolSize = try reader.int("pipe_pool_size", in: 0...Int.max) ?? defaults.pipePoolSize
        let bufferSize = try reader.size("buffer_size", in: 1024...(64 << 20)) ?? defaults.bufferSize
        let keepalive = try decodeKeepalive(reader, default: defaults.tcpKeepalive)
        let resolveTTL = try reader.duration("resolve_ttl") ?? defaults.resolveTTL
        let cluster = try reader.mapping("cluster", known: ConfigurationSchema.cluster).map(decodeCluster)
        let listeners = try decodeListeners(reader, hasCluster: cluster != nil)
        let stats = try decodeStats(reader.mapping("stats", known: ConfigurationSchema.stats), listeners: listeners)
        return ProxyConfiguration(
            threads: threads,
            maxconn: maxconn,
            timeouts: timeouts,
            logSessions: logSessions,
            splice: splice,
            pipeSize: pipeSize,
            pipePoolSize: pipePoolSize,
            bufferSize: bufferSize,
            tcpKeepalive: keepalive,
            resolveTTL: resolveTTL,
            listeners: listeners,
            stats: stats,
            cluster: cluster
        )
    }

    /// `threads`: a number of event loops, or `auto` (`nil`).
    private func decodeThreads(_ reader: MappingReader, default value: Int?) throws(ConfigurationError) -> Int? {
        guard let text = try reader.scalar("threads", expected: "a number of threads or auto") else { return value }
        if text.trimmingSpaces == "auto" { return nil }
        guard Int(text.trimmingSpaces) != nil else {
            throw reader.invalid("threads", "expected a number of threads or auto, got \"\(text)\"")
        }
        return try reader.int("threads", in: 1...1024)
    }

    /// `timeouts:`.
    private func decodeTimeouts(_ reader: MappingReader?) throws(ConfigurationError) -> Timeouts {
        let defaults = Timeouts()
        guard let reader else { return defaults }
        let positive = Duration.nanoseconds(1)
        return Timeouts(
            connect: try reader.duration("connect", atLeast: positive) ?? defaults.connect,
            clientIdle: try reader.duration("client_idle", atLeast: positive) ?? defaults.clientIdle,
            serverIdle: try reader.duration("server_idle", atLeast: positive) ?? defaults.serverIdle,
            shutdown: try reader.duration("shutdown") ?? defaults.shutdown,
            queue: try reader.duration("queue") ?? defaults.queue,
            startupAnswer: try reader.duration("startup_answer", atLeast: positive) ?? defaults.startupAnswer
        )
    }

    /// `tcp_keepalive:` — a mapping, or a boolean (`off` turns keepalive off, `on` keeps the defaults).
    private func decodeKeepalive(_ reader: MappingReader, default value: TCPKeepalive?) throws(ConfigurationError) -> TCPKeepalive? {
        guard let node = reader.node("tcp_keepalive") else { return value }
        if case .scalar(let text, _, _) = node {
            guard let enabled = MappingReader.boolean(text) else {
                throw reader.invalid("tcp_keepalive", "expected a mapping {idle, interval, count}, or off, got \"\(text)\"")
            }
            return enabled ? TCPKeepalive() : nil
        }
        let defaults = TCPKeepalive()
        let keepalive = try MappingReader(node, path: "tcp_keepalive", known: ConfigurationSchema.tcpKeepalive, decoder: self)
        // The kernel counts these in whole seconds, up to MAX_TCP_KEEPIDLE / MAX_TCP_KEEPINTVL / MAX_TCP_KEEPCNT.
        return TCPKeepalive(
            idle: try keepalive.wholeSeconds("idle", in: 1...32_767) ?? defaults.idle,
            interval: try keepalive.wholeSeconds("interval", in: 1...32_767) ?? defaults.interval,
            count: try keepalive.int("count", in: 1...127) ?? defaults.count
        )
    }

    /// `stats:`; its bind must not collide with a listener's.
    private func decodeStats(_ reader: MappingReader?, listeners: [ListenerConfiguration]) throws(ConfigurationError) -> StatsConfiguration {
        let defaults = StatsConfiguration()
        guard let reader else { return defaults }
        let bind = try reader.endpoint("bind", allowPortZero: true) ?? defaults.bind
        if let other = listeners.first(where: { $0.bind.collides(with: bind) }) {
            throw reader.invalid("bind", "\(bind) is also the bind of listener \"\(other.name)\"")
        }
        let auth = try reader.string("auth")
        if let auth, !Self.isCredential(auth) {
            throw reader.invalid("auth", "expected user:password")
        }
        return StatsConfiguration(
            bind: bind,
            refresh: try reader.duration("refresh", atLeast: .milliseconds(100)) ?? defaults.refresh,
            auth: auth ?? defaults.auth,
            admin: try reader.mapping("admin", known: ConfigurationSchema.statsAdmin).map(decodeStatsAdmin) ?? defaults.admin
        )
    }

    /// `stats.admin:` — `user` and one of `password` or `password_file` (read now, so a missing file
    /// stops the start rather than the first control).
    private func decodeStatsAdmin(_ reader: MappingReader) throws(ConfigurationError) -> StatsAdminConfiguration {
        guard let user = try reader.string("user") else { throw reader.missing("user") }
        if user.contains(":") { throw reader.invalid("user", "must not contain : (HTTP basic auth splits user and password there)") }
        let password = try reader.string("password")
        let passwordFile = try reader.string("password_file")
        switch (password, passwordFile) {
        case (let password?, nil):
            return StatsAdminConfiguration(user: user, password: password)
        case (nil, let path?):
            return StatsAdminConfiguration(user: user, password: try readPasswordFile(path, reader: reader))
        case (_?, _?):
            throw reader.invalid("password_file", "give password or password_file, not both")
        case (nil, nil):
            throw reader.missing("password", "stats.admin needs password or password_file")
        }
    }

    /// The first line of `path`, without its line break; an error at `password_file` when the file
    /// cannot be read or the line is empty.
    private func readPasswordFile(_ path: String, reader: MappingReader) throws(ConfigurationError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read (permission denied?)" : "no such file"
            throw reader.invalid("password_file", "\(path): \(why)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw reader.invalid("password_file", "\(path): is not UTF-8 text")
        }
        let line = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).first ?? ""
        guard !line.isEmpty else { throw reader.invalid("password_file", "\(path): the first line (the password) is empty") }
        return String(line)
    }

    /// `user:password` with a non-empty user.
    static func isCredential(_ text: String) -> Bool {
        guard let colon = text.firstIndex(of: ":") else { return false }
        return colon != text.startIndex
    }
}
