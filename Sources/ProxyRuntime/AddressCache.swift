import PosixIO
import SwitchmanCore

/// Resolved server addresses of one event loop, each trusted for `ttl`. A failed connect forgets the
/// entry, so a recreated container's new address is picked up on the next attempt.
/// Loop-confined; not thread-safe.
struct AddressCache {
    private struct Entry {
        let addresses: [SocketAddress]
        let expires: UInt64
    }

    private var entries: [Endpoint: Entry] = [:]
    var ttlNanoseconds: UInt64

    init(ttlNanoseconds: UInt64) { self.ttlNanoseconds = ttlNanoseconds }

    /// Cached addresses still valid at `now`.
    func lookup(_ endpoint: Endpoint, now: UInt64) -> [SocketAddress]? {
        guard let entry = entries[endpoint], entry.expires > now else { return nil }
        return entry.addresses
    }

    mutating func store(_ endpoint: Endpoint, _ addresses: [SocketAddress], now: UInt64) {
        entries[endpoint] = Entry(addresses: addresses, expires: now &+ ttlNanoseconds)
    }

    mutating func forget(_ endpoint: Endpoint) { entries[endpoint] = nil }
}
