import Glibc
import PosixIO

/// Resolves host names on a thread of its own and hands the answer back to the asking loop, so no
/// event loop ever blocks in getaddrinfo. Answers are cached per host for a bounded time by the
/// caller (see ProxyRuntime's address cache); this type only performs lookups.
public final class AddressResolver: Sendable {
    private struct Request {
        let host: String
        let port: UInt16
        let loop: EventLoop
        let completion: @Sendable (Result<[SocketAddress], ResolutionError>) -> Void
    }

    /// A lookup as getaddrinfo does it (tests give their own).
    public typealias Lookup = @Sendable (_ host: String, _ port: UInt16) -> Result<[SocketAddress], ResolutionError>

    private let queue = ConditionLock<[Request]>([])
    private let lookup: Lookup

    /// Starts the resolver thread; `lookup` answers each name (getaddrinfo by default).
    public init(lookup: @escaping Lookup = NameResolution.resolve) {
        self.lookup = lookup
        Thread.spawn(name: "switchman-dns") { [self] in self.work() }
    }

    /// Looks up `host` and calls `completion` on `loop` with the result. Safe from any thread.
    public func resolve(host: String, port: UInt16, on loop: EventLoop,
                        completion: @escaping @Sendable (Result<[SocketAddress], ResolutionError>) -> Void) {
        if let literal = SocketAddress(literal: host, port: port) {
            loop.execute { completion(.success([literal])) }
            return
        }
        queue.withLock { $0.append(Request(host: host, port: port, loop: loop, completion: completion)) }
        queue.wakeAll()
    }

    private func work() {
        while true {
            let request = queue.wait(for: { !$0.isEmpty }) { queue, _ in queue.removeFirst() }
            let result = lookup(request.host, request.port)
            let completion = request.completion
            request.loop.execute { completion(result) }
        }
    }
}
