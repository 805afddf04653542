import Foundation

/// Runs blocking work (libpq, child processes) on a thread of its own, so that the test does not hold
/// one of the few threads of Swift's cooperative pool for seconds (this machine class has 2 cores).
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

/// Polls `condition` every `interval` until it holds; throws naming `what` after `timeout`.
/// Every wait in these tests is bounded: the bounds are generous, only there to catch a hang.
@discardableResult
func waitUntil<T>(
    _ what: String, timeout: Duration, interval: Duration = .milliseconds(100),
    _ condition: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now + timeout
    var lastError: Error?
    while true {
        do {
            if let value = try await condition() { return value }
        } catch {
            lastError = error
        }
        if ContinuousClock.now >= deadline {
            throw IntegrationError("timed out after \(timeout) waiting for \(what)\(lastError.map { " (last error: \($0))" } ?? "")")
        }
        try await Task.sleep(for: interval)
    }
}

/// Seconds from `start` to `end`, for messages.
func seconds(_ start: ContinuousClock.Instant, _ end: ContinuousClock.Instant) -> Double {
    let d = end - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
