/// The process section of a ``StatsSnapshot``.
public struct ProcessStats: Sendable, Equatable {
    /// Switchman's version string.
    public var version: String
    /// Process start (seconds since the epoch).
    public var startTime: Double
    /// Event loop threads running.
    public var threads: Int
    /// Operating-system process id.
    public var pid: Int
    /// Path of the configuration file as given on the command line; `nil` when none was read.
    public var configFile: String?
    /// The most recent configuration reload; `nil` when none has happened since start.
    public var lastReload: ReloadStats?
    /// Reloads attempted since start (successful or not).
    public var reloadsTotal: UInt64
    /// Reloads rejected since start (the old configuration stayed in force).
    public var reloadFailuresTotal: UInt64
    /// Log lines (session log and diagnostics) dropped since start because their reader fell behind.
    public var logLinesDroppedTotal: UInt64

    /// Creates the process section.
    public init(
        version: String,
        startTime: Double,
        threads: Int,
        pid: Int,
        configFile: String? = nil,
        lastReload: ReloadStats? = nil,
        reloadsTotal: UInt64 = 0,
        reloadFailuresTotal: UInt64 = 0,
        logLinesDroppedTotal: UInt64 = 0
    ) {
        self.version = version
        self.startTime = startTime
        self.threads = threads
        self.pid = pid
        self.configFile = configFile
        self.lastReload = lastReload
        self.reloadsTotal = reloadsTotal
        self.reloadFailuresTotal = reloadFailuresTotal
        self.logLinesDroppedTotal = logLinesDroppedTotal
    }
}

/// The outcome of one configuration reload.
public struct ReloadStats: Sendable, Equatable {
    /// When the reload happened (seconds since the epoch).
    public var time: Double
    /// Whether the new configuration was applied.
    public var succeeded: Bool
    /// One line: what changed, or why the file was rejected (with file, line and key).
    public var message: String

    /// Creates a reload record.
    public init(time: Double, succeeded: Bool, message: String) {
        self.time = time
        self.succeeded = succeeded
        self.message = message
    }
}
