import Glibc
import Synchronization

/// A TCP port on 127.0.0.1 that nothing listens on now and that no bind to port 0 will be given
/// later: it lies below the kernel's ephemeral range (`ip_local_port_range`), where such binds draw
/// from. A port picked by binding port 0 and closing it can be handed out again at once, to a proxy's
/// listener in another test, say, which then answers where a test expected a refusal or wanted to
/// bind. No port is handed out twice in this process, so two callers never share one.
public func loopbackPortBelowTheEphemeralRange() throws -> UInt16 {
    try BelowEphemeralPorts.next.withLock { next in
        let (lowest, end) = BelowEphemeralPorts.range
        for _ in lowest..<end {
            let candidate = next
            next = next + 1 < end ? next + 1 : lowest
            if BelowEphemeralPorts.bindable(candidate) { return candidate }
        }
        throw PortsExhausted()
    }
}

/// Every port below the ephemeral range is taken.
public struct PortsExhausted: Error, CustomStringConvertible {
    public var description: String { "no free 127.0.0.1 port between 10000 and the ephemeral range" }
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
public func ephemeralRangeStart() -> UInt16 {
    guard let file = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r") else { return 32768 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 64)
    guard fgets(&line, Int32(line.count), file) != nil else { return 32768 }
    let first = String(cString: line).split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first
    return first.flatMap { UInt16($0) } ?? 32768
}

private enum BelowEphemeralPorts {
    /// Ports from 10000 up to the ephemeral range's first port.
    static let range: (UInt16, UInt16) = (10000, max(ephemeralRangeStart(), 11000))
    /// Starts at a random port, so test processes that run one after the other pick different ones.
    static let next = Mutex<UInt16>(UInt16.random(in: range.0..<range.1))

    /// A listener could bind it now (SO_REUSEADDR, as servers set: a TIME_WAIT on it does not count).
    static func bindable(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
