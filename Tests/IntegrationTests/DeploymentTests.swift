import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// The deployment files and `switchman health`, without a cluster: the binary against a live and a
/// dead stats port, and the Dockerfile's promise to build without a registry.
@Suite(.serialized)
struct DeploymentTests {
    /// Runs `switchman health ARGS` (bounded) and returns its exit status and output.
    func health(_ arguments: [String]) async throws -> CommandResult {
        try await Command.run(Repository.switchmanBinary, ["health"] + arguments, timeout: .seconds(20))
    }

    @Test("switchman health exits 0 on a live /health and 1 on a 503 probe of the same server")
    func healthAgainstALiveStatsPort() async throws {
        let ports = try freeLoopbackPorts(3)
        let proxy = try StaticSwitchman(configuration: """
            threads: 1
            log_sessions: false
            listeners:
              - { name: raw, bind: "127.0.0.1:\(ports[0])", role: static, servers: ["127.0.0.1:\(ports[2])"] }
            stats: { bind: "127.0.0.1:\(ports[1])" }
            """)
        defer { proxy.stop() }
        _ = try proxy.waitForListener("raw")
        let live = try await waitUntil("/health to answer", timeout: .seconds(20)) {
            let result = try await health(["http://127.0.0.1:\(ports[1])/health"])
            return result.status == 0 ? result : nil
        }
        #expect(live.output.contains("200"), "no status in: \(live.output)")
        // /primary answers 503 on a configuration without a primary listener
        let unavailable = try await health(["http://127.0.0.1:\(ports[1])/primary"])
        #expect(unavailable.status == 1, "exit \(unavailable.status): \(unavailable.output)")
        #expect(unavailable.output.contains("503"), "no 503 in: \(unavailable.output)")
    }

    @Test("switchman health exits 1, naming the refusal, on a port nothing listens on")
    func healthAgainstADeadPort() async throws {
        let port = try freeLoopbackPorts(1)[0]
        let started = ContinuousClock.now
        let result = try await health(["--timeout", "2", "http://127.0.0.1:\(port)/health"])
        #expect(result.status == 1, "exit \(result.status): \(result.output)")
        #expect(result.output.contains("refused"), "no reason in: \(result.output)")
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("switchman health gives up after --timeout on a server that never answers")
    func healthTimesOut() async throws {
        // a listening socket nobody accepts from: the connect succeeds (backlog), no answer comes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        #expect(bound && listen(fd, 4) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let started = ContinuousClock.now
        let result = try await health(["--timeout", "1", "http://127.0.0.1:\(port)/health"])
        let took = ContinuousClock.now - started
        #expect(result.status == 1, "exit \(result.status): \(result.output)")
        #expect(result.output.contains("timed out"), "no reason in: \(result.output)")
        #expect(took >= .seconds(1) && took < .seconds(10), "took \(took)")
    }

    @Test("the Dockerfile builds without a registry or BuildKit: no syntax= line, no RUN --mount, no downloads")
    func dockerfileNeedsNoRegistry() throws {
        let text = try String(contentsOf: Repository.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(!lines.contains { $0.hasPrefix("#") && $0.dropFirst().trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("syntax") })
        let instructions = lines.filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        #expect(!instructions.contains("--mount"))
        for fetcher in ["curl ", "wget ", "git clone", "pip ", "ADD http"] {
            #expect(!instructions.contains(fetcher), "the Dockerfile runs \(fetcher)")
        }
        #expect(instructions.contains("HEALTHCHECK") && instructions.contains("\"switchman\", \"health\""))
        #expect(instructions.contains("ENV SWITCHMAN_CONFIG=/etc/switchman/proxy.conf"))
        #expect(!instructions.contains("--config"), "a --config in the Dockerfile overrides SWITCHMAN_CONFIG")
        #expect(instructions.contains("strip "))
        // SwiftPM's checkouts may come with the context, so the build need not reach GitHub
        let ignore = try String(contentsOf: Repository.root.appendingPathComponent(".dockerignore"), encoding: .utf8)
        #expect(ignore.contains("!.build/checkouts") && ignore.contains("!.build/repositories"))
    }
}
