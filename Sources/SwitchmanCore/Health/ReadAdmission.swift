/// Whether one replica may take new sessions of one replica listener with a `max_lag`, damped so a
/// replica hovering at the limit does not flap in and out (Patroni issue 3491: 300 UP/DOWN flips in
/// 22 minutes behind HAProxy).
///
/// - The first measurement within the limit admits at once (nothing to damp yet).
/// - Over the limit (or unmeasurable) excludes at once: stale reads are the failure this guards against.
/// - An excluded replica comes back only after `rise` checks in a row under the re-admit threshold
///   (half the limit) that span at least `minDwell`; a check between the threshold and the limit, or
///   over it, starts the count again. So a replica whose replay stops and starts every few seconds
///   stays out until it has been steady for `minDwell`.
public struct ReadAdmission: Sendable, Hashable {
    /// `nil` before the first measurement, then whether new sessions may go to the replica.
    public private(set) var admitted: Bool?
    /// Why it is out (or what it still waits for); `nil` while admitted.
    public private(set) var reason: String?
    /// When `admitted` last changed (monotonic nanoseconds).
    public private(set) var changedAt: UInt64?
    /// How many times it went in or out since it was first measured.
    public private(set) var changes: UInt64 = 0
    private var goodStreak = 0
    private var goodSince: UInt64?

    /// Not measured yet.
    public init() {}

    /// Feeds one measurement taken at `now` (monotonic nanoseconds). Returns true when `admitted` changed.
    @discardableResult
    public mutating func observe(_ lag: ReplicaLag, limit: LagLimit, rise: Int, minDwell: Duration, now: UInt64) -> Bool {
        if let excess = limit.excess(lag) {
            goodStreak = 0
            goodSince = nil
            reason = excess
            return set(false, now: now)
        }
        guard admitted == false else {
            // Admitted or first measurement: within the limit is enough.
            reason = nil
            return set(true, now: now)
        }
        let threshold = limit.readmitThreshold
        if let above = threshold.excess(lag) {
            goodStreak = 0
            goodSince = nil
            reason = "\(above.replacingOccurrences(of: " > ", with: " above re-admit threshold ")) (limit \(limit.description))"
            return false
        }
        goodStreak += 1
        let since = goodSince ?? now
        goodSince = since
        let steady = Duration.nanoseconds(Int64(clamping: now &- since))
        if goodStreak >= max(1, rise) && steady >= minDwell {
            reason = nil
            return set(true, now: now)
        }
        reason = "caught up, re-admitted after \(max(1, rise)) good checks over \(minDwell.humanReadable) (\(goodStreak) so far)"
        return false
    }

    private mutating func set(_ value: Bool, now: UInt64) -> Bool {
        guard admitted != value else { return false }
        if admitted != nil { changes += 1 }
        admitted = value
        changedAt = now
        return true
    }
}

/// Whether a member's SQL check passes, counted as HAProxy does: `fall` failures in a row mark it
/// failing, `rise` successes in a row mark it passing again.
public struct CheckStreak: Sendable, Hashable {
    /// Whether the check counts as passing (true until `fall` failures in a row).
    public private(set) var passing = true
    /// Failures since the last success.
    public private(set) var consecutiveFailures = 0
    /// Successes since the last failure.
    public private(set) var consecutiveSuccesses = 0
    /// Every failure since start.
    public private(set) var failuresTotal: UInt64 = 0
    /// The last failure's text; `nil` once a check passed after it.
    public private(set) var lastError: String?

    /// No check ran yet.
    public init() {}

    /// Counts a success; returns true when the check became passing.
    @discardableResult
    public mutating func succeeded(rise: Int) -> Bool {
        consecutiveFailures = 0
        consecutiveSuccesses += 1
        lastError = nil
        guard !passing, consecutiveSuccesses >= max(1, rise) else { return false }
        passing = true
        return true
    }

    /// Counts a failure; returns true when the check became failing.
    @discardableResult
    public mutating func failed(_ error: String, fall: Int) -> Bool {
        consecutiveSuccesses = 0
        consecutiveFailures += 1
        failuresTotal += 1
        lastError = error
        guard passing, consecutiveFailures >= max(1, fall) else { return false }
        passing = false
        return true
    }
}
