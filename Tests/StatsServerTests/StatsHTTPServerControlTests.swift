import Foundation
import Glibc
import Logging
import PosixIO
import Reactor
import StatsServer
import SwitchmanCore
import Synchronization
import Testing

/// The controls through the real server on loopback: the controller runs only for an authorised
/// POST, learns the client's address, and its outcome is the answer.
@Suite(.serialized)
struct StatsHTTPServerControlTests {
    private final class Running: Sendable {
        let group: EventLoopGroup
        let server: StatsHTTPServer
        let port: UInt16
        let received = Received()

        init(admin: StatsAdminConfiguration?, outcome: ControlOutcome) throws {
            group = try EventLoopGroup(count: 1)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let received = self.received
            server = StatsHTTPServer(
                loop: group.loops[0], configuration: StatsRouteConfiguration(admin: admin), logger: logger,
                controller: { command, completion in
                    received.commands.withLock { $0.append(command) }
                    completion(outcome)
                }
            ) { completion in completion(StatsFixtures.cluster) }
            group.start()
            try server.start(bind: SocketAddress(literal: "127.0.0.1", port: 0)!)
            port = server.address!.port
        }

        func stop() {
            let done = Atomic<Bool>(false)
            group.loops[0].execute {
                self.server.stop()
                done.store(true, ordering: .releasing)
            }
            for _ in 0..<500 where !done.load(ordering: .acquiring) { usleep(2_000) }
            group.stop()
        }
    }

    private final class Received: Sendable {
        let commands = Mutex<[ControlCommand]>([])
    }

    private func exchange(_ port: UInt16, _ text: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let address = SocketAddress(literal: "127.0.0.1", port: port)!
        guard address.withSockAddr({ connect(fd, $0, $1) }) == 0 else { throw IOError(errno: errno, call: "connect") }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    static let admin = StatsAdminConfiguration(user: "ops", password: "pw")
    static let authorization = "Authorization: Basic " + Data("ops:pw".utf8).base64EncodedString() + "\r\n"

    @Test("an authorised POST reaches the controller with the client's loopback address, and its outcome is the answer")
    func authorisedPostIsPerformed() throws {
        let running = try Running(admin: Self.admin, outcome: .done("member node2: drain (was ready)"))
        defer { running.stop() }
        let answer = try exchange(running.port, "POST /admin/members/node2/drain HTTP/1.1\r\nHost: x\r\n\(Self.authorization)Content-Length: 0\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 200"))
        #expect(answer.hasSuffix("ok: member node2: drain (was ready)\n"))
        let commands = running.received.commands.withLock { $0 }
        #expect(commands.count == 1)
        #expect(commands.first?.user == "ops")
        #expect(commands.first?.client.hasPrefix("127.0.0.1:") == true)
        #expect(commands.first?.target == .member("node2"))
    }

    @Test("wrong credentials and GET never reach the controller")
    func refusedRequestsChangeNothing() throws {
        let running = try Running(admin: Self.admin, outcome: .done("should not happen"))
        defer { running.stop() }
        let wrong = "Authorization: Basic " + Data("ops:nope".utf8).base64EncodedString() + "\r\n"
        #expect(try exchange(running.port, "POST /admin/members/node2/drain HTTP/1.1\r\nHost: x\r\n\(wrong)\r\n").hasPrefix("HTTP/1.1 401"))
        #expect(try exchange(running.port, "POST /admin/members/node2/drain HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 401"))
        let get = try exchange(running.port, "GET /admin/members/node2/drain HTTP/1.1\r\nHost: x\r\n\(Self.authorization)\r\n")
        #expect(get.hasPrefix("HTTP/1.1 405"))
        #expect(get.contains("Allow: POST\r\n"))
        #expect(running.received.commands.withLock { $0.isEmpty })
    }

    @Test("an unknown member from the controller answers 404")
    func unknownMemberIs404() throws {
        let running = try Running(admin: Self.admin, outcome: .notFound("no member nodeX"))
        defer { running.stop() }
        let answer = try exchange(running.port, "POST /admin/members/nodeX/drain HTTP/1.1\r\nHost: x\r\n\(Self.authorization)\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 404"))
        #expect(answer.contains("no member nodeX"))
    }
}
