import PosixIO
import Synchronization
import SwitchmanCore

/// Process-wide routing for PostgreSQL cancel requests: which node serves the session a cancel key
/// names, and which nodes have live sessions at all (the targets of a broadcast when the key is
/// unknown: TLS sessions, whose key Switchman cannot read).
///
/// A cancel request arrives on a new connection, maybe on another loop than its session, so the
/// table is shared by every loop behind one lock. It is touched only at connection start and end
/// (never while bytes flow), and bounded: past `capacity` keys a new key is not recorded and its
/// cancel requests take the broadcast path, which still reaches the session.
final class CancelTable: Sendable {
    /// Where a cancel request for one key goes.
    struct Entry: Sendable, Equatable {
        /// The node's address, as the session connected to it.
        let address: SocketAddress
        /// The node's name in its route (for logs).
        let server: String
        /// The session that recorded the key; only it removes the entry.
        let session: UInt64
    }

    private struct State {
        var keys: [CancelKey: Entry] = [:]
        /// Per group (a static listener, or the cluster): live sessions per node address.
        var live: [String: [SocketAddress: Int]] = [:]
    }

    /// Most keys kept at once.
    let capacity: Int
    private let state = Mutex(State())

    /// Creates an empty table holding at most `capacity` keys.
    init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    /// Records the node of a session's key. Returns false when the table is full (nothing recorded).
    @discardableResult
    func insert(_ key: CancelKey, _ entry: Entry) -> Bool {
        state.withLock { state in
            if state.keys[key] == nil && state.keys.count >= capacity { return false }
            state.keys[key] = entry
            return true
        }
    }

    /// Forgets `key` if `session` recorded it (a later session with the same key keeps its entry).
    func remove(_ key: CancelKey, session: UInt64) {
        state.withLock { state in
            if state.keys[key]?.session == session { state.keys[key] = nil }
        }
    }

    /// The node serving the session with this key, if known.
    func lookup(_ key: CancelKey) -> Entry? {
        state.withLock { $0.keys[key] }
    }

    /// Keys recorded now.
    var count: Int { state.withLock { $0.keys.count } }

    /// A session of `group` connected to `address`.
    func serverConnected(group: String, address: SocketAddress) {
        state.withLock { $0.live[group, default: [:]][address, default: 0] += 1 }
    }

    /// A session of `group` left `address` (ended, or replayed its start-up elsewhere).
    func serverDisconnected(group: String, address: SocketAddress) {
        state.withLock { state in
            guard let count = state.live[group]?[address] else { return }
            if count <= 1 {
                state.live[group]?[address] = nil
                if state.live[group]?.isEmpty == true { state.live[group] = nil }
            } else {
                state.live[group]?[address] = count - 1
            }
        }
    }

    /// Node addresses with at least one live session of `group`.
    func liveServers(group: String) -> [SocketAddress] {
        state.withLock { Array(($0.live[group] ?? [:]).keys) }
    }
}
