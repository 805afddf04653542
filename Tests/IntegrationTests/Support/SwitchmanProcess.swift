import Foundation
import Synchronization
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Switchman binary under test, running in front of the local cluster: primary port, read port
/// (`fallback: primary`) and the stats server, all on free 127.0.0.1 ports.
final class SwitchmanProcess: Sendable {
    let primaryPort: Int
    let replicaPort: Int
    /// A read port with `max_lag: [16MB, 5s]` (`fallback: primary`), for the lag tests.
    let laggedReplicaPort: Int
    let statsPort: Int
    /// Its stderr (structured log lines) and stdout (one line per finished session).
    let logPath: String
    let sessionLogPath: String
    let configPath: String
    let pid: pid_t
    /// Its exit status once reaped.
    private let exitStatus = Mutex<Int32?>(nil)

    /// Starts one in `directory`, its files named after `name`; `checkPassword` is what its member
    /// checks log in with (the nodes' is `postgres`); `admin` turns the runtime controls on
    /// (`stats.admin` with that user and password file); `zookeeperPort` replaces the cluster's
    /// ZooKeeper port (a forwarder's, or one nothing listens on yet); `zookeeperSessionTimeout` is
    /// `cluster.zookeeper.session_timeout`.
    init(cluster: LocalCluster, directory: String, name: String = "switchman", checkPassword: String = "postgres",
         admin: (user: String, passwordFile: String)? = nil, zookeeperPort: Int? = nil,
         zookeeperSessionTimeout: String = "10s") throws {
        let binary = Repository.switchmanBinary
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw IntegrationError("no Switchman binary at \(binary): run `swift build` first (scripts/test.sh runs `swift build --build-tests` before `swift test`), or set SWITCHMAN_BIN")
        }
        let ports = try freeLoopbackPorts(4)
        (primaryPort, replicaPort, statsPort, laggedReplicaPort) = (ports[0], ports[1], ports[2], ports[3])
        configPath = directory + "/\(name).yml"
        logPath = directory + "/\(name).log"
        sessionLogPath = directory + "/\(name)-sessions.log"
        // session_timeout 10 s by default: the ZooKeeper restart test keeps ZooKeeper down ~1-3 s (JVM
        // start-up on a busy machine included), well within it.
        let config = """
            threads: 2
            listeners:
              - { name: primary, bind: "127.0.0.1:\(primaryPort)", role: primary }
              - { name: replicas, bind: "127.0.0.1:\(replicaPort)", role: replica, fallback: primary }
              - { name: fresh-replicas, bind: "127.0.0.1:\(laggedReplicaPort)", role: replica, fallback: primary, max_lag: [16MB, 5s] }
            stats: { bind: "127.0.0.1:\(statsPort)"\(admin.map { ", admin: { user: \($0.user), password_file: \"\($0.passwordFile)\" }" } ?? "") }
            cluster:
              scope: \(cluster.scope)
              namespace: \(cluster.namespace)
              zookeeper: { hosts: ["127.0.0.1:\(zookeeperPort ?? cluster.zookeeperPort)"], session_timeout: \(zookeeperSessionTimeout) }
              check: { user: postgres, password: \(checkPassword), min_dwell: 3s }
              hold_timeout: 30s

            """
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        // SWITCHMAN_* variables are configuration overrides, and Switchman refuses unknown ones (such as
        // SWITCHMAN_BIN, which picks the binary here): its environment has none of them.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SWITCHMAN_") }.map { "\($0.key)=\($0.value)" }
        pid = try Spawn.start(binary, ["run", "--config", configPath], output: sessionLogPath, errors: logPath, environment: environment)
        try String(pid).write(toFile: directory + "/\(name).pid", atomically: true, encoding: .utf8)
    }

    /// Whether the process still runs (reaps it once it ended).
    var isRunning: Bool {
        exitStatus.withLock { status in
            if status == nil { status = Spawn.poll(pid) }
            return status == nil
        }
    }

    /// Waits until `/health` answers 200 and Switchman routes writes to the cluster's leader.
    func waitReady(leader: String) async throws {
        try await waitUntil("Switchman to route writes to \(leader) (log: \(logPath))", timeout: .seconds(60)) {
            guard isRunning else {
                throw IntegrationError("Switchman exited with \(exitStatus.withLock { $0 } ?? -1); log:\n\(log().suffix(3000))")
            }
            return try await stats().routesWrites(to: leader) ? true : nil
        }
    }

    /// `/stats.json`, decoded.
    func stats() async throws -> StatsDocument {
        let answer = try await HTTPGet.get(port: statsPort, path: "/stats.json")
        guard answer.status == 200 else { throw IntegrationError("/stats.json answered \(answer.status): \(answer.body.prefix(300))") }
        return try StatsDocument.decode(answer.body)
    }

    /// Waits until `/stats.json` satisfies `condition`; returns that snapshot.
    @discardableResult
    func waitForStats(_ what: String, timeout: Duration = .seconds(60),
                      _ condition: @escaping (StatsDocument) -> Bool) async throws -> StatsDocument {
        try await waitUntil(what, timeout: timeout, interval: .milliseconds(50)) {
            let document = try await stats()
            return condition(document) ? document : nil
        }
    }

    /// Its stderr so far.
    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// SIGTERM (drain), then SIGKILL after 15 s.
    func stop() async {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        _ = try? await waitUntil("Switchman to exit after SIGTERM", timeout: .seconds(15)) { isRunning ? nil : true }
        if isRunning {
            kill(pid, SIGKILL)
            _ = try? await waitUntil("Switchman to exit after SIGKILL", timeout: .seconds(5)) { isRunning ? nil : true }
        }
    }
}

/// `count` distinct TCP ports free on 127.0.0.1, below the ephemeral range so that no bind to port 0
/// takes one before Switchman binds it (``loopbackPortBelowTheEphemeralRange()``).
func freeLoopbackPorts(_ count: Int) throws -> [Int] {
    try (0..<count).map { _ in Int(try loopbackPortBelowTheEphemeralRange()) }
}
