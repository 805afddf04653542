import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Watches open client sessions (idle ones, or ones with a statement in flight) on one thread of its
/// own, polling their sockets every 10 ms, and notes when libpq finds each broken: the moment a client
/// blocked on it would get its error.
final class SessionBreakWatch: @unchecked Sendable {
    // @unchecked: the connections are used by the watching thread only, once `watch` has started.
    struct Outcome: Sendable {
        /// Wall-clock time (seconds since 1970, as Switchman's stats events) libpq found it broken.
        let brokenAt: Double?
        /// libpq's message then.
        let message: String?
        /// A statement in flight was answered (a frozen node cannot: this would be another node).
        let answered: Bool
    }

    private let sessions: [PGConnection]
    private let stopping = Atomic<Bool>(false)

    init(_ sessions: [PGConnection]) {
        self.sessions = sessions
    }

    /// Ends `watch` at its next poll.
    func stop() {
        stopping.store(true, ordering: .releasing)
    }

    /// Polls until every session broke, `stop()` was called, or `limit` passed; one outcome per session.
    func watch(limit: Duration) async throws -> [Outcome] {
        try await offPool { [self] in
            var broken: [Double?] = Array(repeating: nil, count: sessions.count)
            var messages: [String?] = Array(repeating: nil, count: sessions.count)
            var answered = Array(repeating: false, count: sessions.count)
            let deadline = ContinuousClock.now + limit
            while !stopping.load(ordering: .acquiring), ContinuousClock.now < deadline,
                  broken.contains(where: { $0 == nil }) {
                let open = sessions.indices.filter { broken[$0] == nil }
                var fds = open.map { pollfd(fd: sessions[$0].socket, events: Int16(POLLIN), revents: 0) }
                guard poll(&fds, nfds_t(fds.count), 10) > 0 else { continue }
                let now = Date().timeIntervalSince1970
                for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                    switch sessions[index].readReady() {
                    case .broken(let message):
                        broken[index] = now
                        messages[index] = message
                    case .answered:
                        answered[index] = true
                    case .quiet:
                        break
                    }
                }
            }
            return sessions.indices.map { Outcome(brokenAt: broken[$0], message: messages[$0], answered: answered[$0]) }
        }
    }
}
