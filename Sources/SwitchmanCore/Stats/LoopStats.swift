/// One event loop thread as `/health` sees it.
public struct LoopStats: Sendable, Equatable {
    /// The loop's index (0-based).
    public var id: Int
    /// Seconds since the loop last proved it was turning (a heartbeat timer), at snapshot time.
    public var heartbeatAge: Double
    /// Sessions the loop owns now.
    public var sessions: Int

    /// Creates a loop entry.
    public init(id: Int, heartbeatAge: Double, sessions: Int = 0) {
        self.id = id
        self.heartbeatAge = heartbeatAge
        self.sessions = sessions
    }
}
