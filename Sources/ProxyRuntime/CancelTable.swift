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
    /// A set of listeners whose sessions' nodes a broadcast reaches: one static listener, or every
    /// cluster listener. A small number handed out by ``group(forStatic:)``, so counting a session
    /// in and out hashes no string (it did, and with a nested dictionary that was a quarter of
    /// the user-space instructions of a short connection).
    struct Group: Sendable, Hashable {
        let id: Int
        /// Every cluster listener (a role change reopens a listener, so its group never changes).
        static let cluster = Group(id: 0)
    }

    /// Where a cancel request for one key goes.
    struct Entry: Sendable, Equatable {
        /// The node's address, as the session connected to it.
        let address: SocketAddress
        /// The node's name in its route (for logs).
        let server: String
        /// The session that recorded the key; only it removes the entry.
        let session: UInt64
    }

    private struct LiveKey: Hashable {
        let group: Group
        let address: SocketAddress
    }

    private struct State {
        var keys: [CancelKey: Entry] = [:]
        /// Live sessions per group and node address.
        var live: [LiveKey: Int] = [:]
        /// The group of each static listener, by name: the same after a reload.
        var staticGroups: [String: Group] = [:]
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

    /// The group of the static listener `name` (the same for the process's lifetime).
    func group(forStatic name: String) -> Group {
        state.withLock { state in
            if let group = state.staticGroups[name] { return group }
            let group = Group(id: state.staticGroups.count + 1)
            state.staticGroups[name] = group
            return group
        }
    }

    /// A session of `group` connected to `address`.
    func serverConnected(group: Group, address: SocketAddress) {
        let key = LiveKey(group: group, address: address)
        state.withLock { $0.live[key, default: 0] += 1 }
    }

    /// A session of `group` left `address` (ended, or replayed its start-up elsewhere).
    func serverDisconnected(group: Group, address: SocketAddress) {
        let key = LiveKey(group: group, address: address)
        state.withLock { state in
            guard let index = state.live.index(forKey: key) else { return }
            if state.live.values[index] <= 1 {
                state.live.remove(at: index)
            } else {
                state.live.values[index] -= 1
            }
        }
    }

    /// Node addresses with at least one live session of `group`.
    func liveServers(group: Group) -> [SocketAddress] {
        state.withLock { state in state.live.keys.compactMap { $0.group == group ? $0.address : nil } }
    }
}
