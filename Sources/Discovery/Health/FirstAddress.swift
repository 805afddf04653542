import PosixIO
import Reactor

/// Why a host name gave no address.
struct LookupFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

extension AddressResolver {
    /// The first address of `host`: the literal itself, or the resolver's first answer (looked up
    /// off the loop), delivered on `loop`.
    func firstAddress(host: String, port: UInt16, on loop: EventLoop,
                      _ body: @escaping (Result<SocketAddress, LookupFailure>) -> Void) {
        if let literal = SocketAddress(literal: host, port: port) { return body(.success(literal)) }
        let deliver = LoopConfined(body)
        resolve(host: host, port: port, on: loop) { result in
            switch result {
            case .success(let addresses):
                deliver.value(addresses.first.map { .success($0) } ?? .failure(LookupFailure("\(host): no address")))
            case .failure(let error):
                deliver.value(.failure(LookupFailure(error.description)))
            }
        }
    }
}

/// A closure handed through the resolver, which answers on the same loop it was asked from.
private final class LoopConfined<T>: @unchecked Sendable {
    // @unchecked: created and called on one loop thread only.
    let value: T
    init(_ value: T) { self.value = value }
}
