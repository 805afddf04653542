import Glibc
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
import Testing
@testable import Discovery

/// The promotion probe hands libpq a resolved address: no name lookup ever runs on a loop thread.
struct SQLProbeTests {
    private let credentials = SQLCheckConfiguration(user: "switchman", timeout: .seconds(2))

    @Test func connectionParametersCarryTheResolvedAddressAsHostaddr() throws {
        let address = try #require(SocketAddress(literal: "10.1.2.3", port: 5433))
        let parameters = SQLProbe.connectionParameters(
            endpoint: Endpoint(host: "pg-master", port: 5432), address: address, credentials: credentials)
        let byKey = Dictionary(parameters, uniquingKeysWith: { first, _ in first })
        #expect(byKey["hostaddr"] == "10.1.2.3")
        #expect(byKey["port"] == "5433")
        #expect(byKey["host"] == "pg-master")
    }

    @Test func aProbeConnectsToItsAddressWithoutLookingTheNameUp() throws {
        // Nothing listens on the port; a name that cannot resolve shows whether libpq looked it up.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        let port = try Socket.localAddress(listener).port
        close(listener)
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let outcome = Mutex<SQLProbeResult?>(nil)
        let target = try #require(SocketAddress(literal: "127.0.0.1", port: port))
        let credentials = self.credentials
        group.loops[0].execute {
            let probe = SQLProbe(
                loop: group.loops[0], endpoint: Endpoint(host: "no-such-host.invalid", port: port), address: target,
                credentials: credentials, query: "select 1") { result in outcome.withLock { $0 = result } }
            _ = probe  // the probe keeps itself registered with the loop until it completes
        }
        let deadline = SystemClock.monotonicNanoseconds() + 10_000_000_000
        while outcome.withLock({ $0 == nil }) && SystemClock.monotonicNanoseconds() < deadline { usleep(10_000) }
        guard case .failed(let reason) = try #require(outcome.withLock { $0 }) else {
            Issue.record("the probe reached a server on a port nothing listens on")
            return
        }
        #expect(!reason.contains("translate host name"), "libpq looked the name up: \(reason)")
        #expect(reason.contains("refused"), "\(reason)")
    }
}
