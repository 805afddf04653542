import PosixIO
import Reactor
import SwitchmanCore

/// Delivers one PostgreSQL CancelRequest to one node or several: for each, connect, write the
/// packet, wait until the node closes the connection (PostgreSQL closes once it has signalled the
/// backend, which is what lets libpq's `PQcancel` return only after the cancel was processed), close.
///
/// Loop-confined. Owns the descriptors it opens and closes every one of them by the time it
/// completes or is stopped. Never retries and never answers anything: a node that cannot be reached
/// within `timeout` is skipped (a wrong node ignores a key it does not know).
final class CancelForwarder: EventHandler {
    /// Where to send the request.
    enum Target: Equatable {
        /// A resolved address (from the cancel table or a live session).
        case address(SocketAddress)
        /// A configured server, resolved first.
        case endpoint(Endpoint)
    }

    private struct Connection {
        var fd: Int32 = -1
        var registration: Registration?
        var written = 0
        var done = false
    }

    private unowned let worker: Worker
    private let packet: [UInt8]
    private var connections: [Connection]
    private var remaining: Int
    private var timer: TimerID?
    private var completion: ((_ delivered: Int) -> Void)?
    /// Nodes the whole packet was written to.
    private(set) var delivered = 0

    /// Prepares delivery of `packet` to `targets`; nothing happens until ``start(_:)``.
    init(worker: Worker, packet: [UInt8], targets: Int, completion: @escaping (_ delivered: Int) -> Void) {
        self.worker = worker
        self.packet = packet
        self.connections = Array(repeating: Connection(), count: targets)
        self.remaining = targets
        self.completion = completion
    }

    /// Connects to every target; calls the completion (on the loop) when each is done or at `timeout`.
    func start(_ targets: [Target], timeout: Duration) {
        precondition(targets.count == connections.count)
        if targets.isEmpty {
            complete()
            return
        }
        timer = worker.loop.schedule(after: timeout) { [weak self] in
            self?.timer = nil
            self?.complete()
        }
        for (index, target) in targets.enumerated() {
            switch target {
            case .address(let address):
                open(index, address)
            case .endpoint(let endpoint):
                worker.resolve(endpoint) { [weak self] result in
                    guard let self, self.completion != nil else { return }
                    switch result {
                    case .success(let addresses): self.open(index, addresses[0])
                    case .failure: self.finish(index)
                    }
                }
            }
            if completion == nil { return }  // completed synchronously
        }
    }

    /// Closes everything without calling the completion (the session ended first).
    func stop() {
        completion = nil
        closeAll()
    }

    func handleEvents(_ events: EpollEvents, token: UInt32) {
        let index = Int(token)
        guard completion != nil, index < connections.count, !connections[index].done else { return }
        if connections[index].written < packet.count {
            if !events.isDisjoint(with: [.writable, .error, .hangup]) {
                if Socket.pendingError(connections[index].fd) != nil {
                    finish(index)
                    return
                }
                write(index)
            }
            return
        }
        if !events.isDisjoint(with: [.readable, .readHangup, .hangup, .error]) { drain(index) }
    }

    // MARK: - Private

    private func open(_ index: Int, _ address: SocketAddress) {
        do {
            let fd = try Socket.makeTCP(family: address.family)
            connections[index].fd = fd
            try Socket.setNoDelay(fd)
            connections[index].registration = try worker.loop.register(
                fd, events: [.readable, .writable, .readHangup, .edgeTriggered], handler: self, token: UInt32(index))
            switch try Socket.connect(fd, to: address) {
            case .connected: write(index)
            case .inProgress: break
            }
        } catch {
            finish(index)
        }
    }

    private func write(_ index: Int) {
        let fd = connections[index].fd
        while connections[index].written < packet.count {
            let offset = connections[index].written
            let result = try? packet.withUnsafeBytes { bytes throws(IOError) in
                try Socket.write(fd, from: bytes.baseAddress! + offset, count: bytes.count - offset)
            }
            switch result {
            case .processed(let n)?: connections[index].written += n
            case .wouldBlock?: return
            case nil:
                finish(index)
                return
            }
        }
        delivered += 1
        drain(index)  // the node may have closed already
    }

    /// Reads until end of file (done) or would-block (wait).
    private func drain(_ index: Int) {
        var scratch = [UInt8](repeating: 0, count: 256)
        while true {
            let result = try? scratch.withUnsafeMutableBytes { bytes throws(IOError) in
                try Socket.read(connections[index].fd, into: bytes.baseAddress!, count: bytes.count)
            }
            switch result {
            case .wouldBlock?: return
            case .processed(let n)? where n > 0: continue
            default:
                finish(index)
                return
            }
        }
    }

    private func finish(_ index: Int) {
        guard !connections[index].done else { return }
        close(index)
        remaining -= 1
        if remaining == 0 { complete() }
    }

    private func close(_ index: Int) {
        connections[index].done = true
        let fd = connections[index].fd
        guard fd >= 0 else { return }
        if let registration = connections[index].registration { worker.loop.deregister(fd, registration) }
        connections[index].registration = nil
        Socket.close(fd)
        connections[index].fd = -1
    }

    private func closeAll() {
        for index in connections.indices { close(index) }
        if let timer { worker.loop.cancel(timer) }
        timer = nil
    }

    private func complete() {
        guard let completion else { return }
        self.completion = nil
        closeAll()
        completion(delivered)
    }
}
