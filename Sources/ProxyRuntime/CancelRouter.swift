import PosixIO
import SwitchmanCore

/// Sends each PostgreSQL CancelRequest a loop receives to the node that owns its key, or, when the
/// key is unknown (a TLS session, or one that ended), to every node that may serve the session.
/// Keeps the forwarders in flight until they finish. Loop-confined.
final class CancelRouter {
    // unowned(unsafe): the worker owns the router and outlives it.
    private unowned(unsafe) let worker: Worker
    /// Cancel keys → nodes, shared by every loop.
    let table: CancelTable
    /// Cancel requests being forwarded, by the id of the session that carries them.
    private var forwarders: [UInt64: CancelForwarder] = [:]

    init(worker: Worker, table: CancelTable) {
        self.worker = worker
        self.table = table
    }

    /// Forwards a CancelRequest: to the node of its key when known, else to every node that may
    /// serve the session (see ``targets(for:among:)``). The session ends once the nodes closed
    /// their side (or the connect timeout passed).
    func forward(for session: Session, key: CancelKey, packet: [UInt8]) {
        let listener = session.listener
        let targets: [CancelForwarder.Target]
        let detail: String
        if let entry = table.lookup(key) {
            targets = [.address(entry.address)]
            detail = "to \(entry.server)"
        } else {
            targets = self.targets(for: listener, among: worker.listeners.values)
            detail = "key unknown, broadcast to \(targets.count) node(s)"
            listener.counters.cancelRequestsBroadcast += 1
        }
        listener.counters.cancelRequestsForwarded += 1
        let sessionID = session.id
        let forwarder = CancelForwarder(worker: worker, packet: packet, targets: targets.count) { [weak self, weak session] delivered in
            self?.forwarders[sessionID] = nil
            session?.end(.cancelForwarded("\(detail), delivered to \(delivered)"))
        }
        forwarders[sessionID] = forwarder
        forwarder.start(targets, timeout: session.timeouts.connect)
    }

    /// Stops the forwarding carried by a session that ended.
    func sessionEnded(_ id: UInt64) {
        // Almost no session forwards a cancel: skip hashing the id for an empty table.
        guard !forwarders.isEmpty else { return }
        forwarders.removeValue(forKey: id)?.stop()
    }

    /// Where a cancel request with an unknown key goes: every node with a live session of the
    /// listener's cancel group (a static listener, or the whole cluster), plus the servers of the
    /// current routes (the listener's own when static; every cluster listener's otherwise).
    func targets(for listener: ListenerRuntime, among listeners: some Sequence<ListenerRuntime>) -> [CancelForwarder.Target] {
        var addresses = Set<SocketAddress>()
        var targets: [CancelForwarder.Target] = []
        for address in table.liveServers(group: listener.cancelGroup) where addresses.insert(address).inserted {
            targets.append(.address(address))
        }
        let routed = listener.configuration.role == .static
            ? [listener] : listeners.filter { $0.configuration.role != .static }
        var endpoints = Set<Endpoint>()
        for other in routed {
            for server in other.route.servers {
                if let literal = SocketAddress(literal: server.endpoint.host, port: server.endpoint.port) {
                    if addresses.insert(literal).inserted { targets.append(.address(literal)) }
                } else if endpoints.insert(server.endpoint).inserted {
                    targets.append(.endpoint(server.endpoint))
                }
            }
        }
        return targets
    }
}
