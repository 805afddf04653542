import Foundation
import Glibc
import PosixIO
import Testing

/// The test helper `closedPort()`: tests point a proxy at it to see a refused connect, and start
/// PostgreSQL nodes on it, so it must not be handed to anything else later.
extension SocketTests {
@Suite struct ClosedPortTests {
    @Test func closedPortsLieBelowTheEphemeralRangeAndAreNeverHandedOutTwice() throws {
        let text = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let ephemeralStart = try #require(text.split(whereSeparator: \.isWhitespace).first.flatMap { UInt16($0) })
        try #require(ephemeralStart > 11000, "this machine's ephemeral range starts at \(ephemeralStart)")
        var seen = Set<UInt16>()
        for _ in 0..<200 {
            let port = try closedPort()
            // A bind to port 0 (a proxy's listener) draws from the ephemeral range, so it can never get this port.
            #expect(port < ephemeralStart, "port \(port)")
            #expect(seen.insert(port).inserted, "port \(port) handed out twice")
        }
    }

    @Test func nothingAcceptsOnAClosedPort() throws {
        let port = try closedPort()
        #expect(throws: IOError.self) { close(try TestSocket.connect(port: port)) }
    }
}
}
