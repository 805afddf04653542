import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The local cluster and the Switchman in front of it, shared by the whole integration suite: started
/// once when the suite starts (only if it runs), stopped when it ends. A guardian process stops both
/// if the test process dies first (a crash, Ctrl-C, a killed CI job).
final class ClusterFixture: Sendable {
    let cluster: LocalCluster
    let switchman: SwitchmanProcess
    /// The folder (under /tmp: the postgres user must reach it) with the cluster, configs and logs.
    let directory: String
    private let guardianPID: Int32

    /// The fixture of the running suite.
    @TaskLocal static var current: ClusterFixture?

    static func required() throws -> ClusterFixture {
        guard let current else { throw IntegrationError("no cluster fixture: the test must run inside the .localCluster suite") }
        return current
    }

    private init(cluster: LocalCluster, switchman: SwitchmanProcess, directory: String, guardianPID: Int32) {
        self.cluster = cluster
        self.switchman = switchman
        self.directory = directory
        self.guardianPID = guardianPID
    }

    static func start() async throws -> ClusterFixture {
        guard geteuid() == 0 else {
            throw IntegrationError("""
                the integration tests start ZooKeeper, Patroni and PostgreSQL 15 (as the postgres user, via \
                scripts/local-cluster.sh) and must run as root: run scripts/test.sh (or .ci/run) as root
                """)
        }
        guard FileManager.default.isExecutableFile(atPath: Repository.switchmanBinary) else {
            throw IntegrationError("no Switchman binary at \(Repository.switchmanBinary): run `swift build` first (scripts/test.sh runs `swift build --build-tests`), or set SWITCHMAN_BIN")
        }
        var template = Array("/tmp/switchman-it.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw IntegrationError("mkdtemp: errno \(errno)") }
        let directory = String(cString: made)
        chmod(directory, 0o755)  // mkdtemp makes it 0700; the postgres user must enter it
        let clusterDirectory = directory + "/cluster"
        let guardian = try startGuardian(directory: directory, clusterDirectory: clusterDirectory)
        let started = ContinuousClock.now
        do {
            let cluster = try await LocalCluster.start(directory: clusterDirectory)
            let leader = try await cluster.leader()
            let switchman = try SwitchmanProcess(cluster: cluster, directory: directory)
            try await switchman.waitReady(leader: leader.name)
            print("[integration] cluster and Switchman up in \(String(format: "%.1f", seconds(started, .now))) s in \(directory); leader \(leader.name)")
            return ClusterFixture(cluster: cluster, switchman: switchman, directory: directory, guardianPID: guardian)
        } catch {
            if let cluster = try? LocalCluster.load(directory: clusterDirectory) { try? await cluster.stop() }
            if let pid = try? String(contentsOfFile: directory + "/switchman.pid", encoding: .utf8), let p = Int32(pid) { kill(p, SIGKILL) }
            kill(guardian, SIGTERM)
            _ = Spawn.wait(guardian, timeout: .seconds(5))
            saveArtifacts(directory: directory)
            throw error
        }
    }

    /// Stops Switchman and the cluster, keeps the logs under .build/artifacts/integration/, removes the folder.
    func stop() async {
        kill(guardianPID, SIGTERM)
        _ = Spawn.wait(guardianPID, timeout: .seconds(5))
        await switchman.stop()
        do {
            try await cluster.stop()
        } catch {
            print("[integration] stopping the cluster failed: \(error)")
        }
        Self.saveArtifacts(directory: directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func saveArtifacts(directory: String) {
        guard let target = try? Repository.artifactsDirectory("integration") else { return }
        let files = ["switchman.log", "switchman-sessions.log", "switchman.yml", "cluster/node1/patroni.log",
                     "cluster/node2/patroni.log", "cluster/zk/zookeeper.log"]
        for file in files {
            let source = directory + "/" + file
            let destination = target.appendingPathComponent(file.replacingOccurrences(of: "/", with: "-")).path
            try? FileManager.default.removeItem(atPath: destination)
            try? FileManager.default.copyItem(atPath: source, toPath: destination)
        }
        print("[integration] logs in \(target.path)")
    }

    /// A shell in its own session (so Ctrl-C on the test run does not reach it) that waits for this
    /// process to end, then kills Switchman and stops the cluster. `stop()` ends it first.
    private static func startGuardian(directory: String, clusterDirectory: String) throws -> Int32 {
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            [ -f '\(directory)/switchman.pid' ] && kill -KILL "$(cat '\(directory)/switchman.pid')" 2>/dev/null
            '\(Repository.localClusterScript)' stop '\(clusterDirectory)' >/dev/null 2>&1
            rm -rf '\(directory)'
            """
        // A spawned child leads no process group, so setsid(1) calls setsid() and execs bash in place:
        // the pid is the guardian's own.
        return try Spawn.start("/usr/bin/setsid", ["/bin/bash", "-c", script], output: "/dev/null")
    }

    // MARK: - Helpers the scenarios share

    /// A direct connection to a node (not through Switchman).
    func connect(to node: ClusterNode) throws -> PGConnection {
        try PGConnection(port: node.pgPort)
    }

    /// Waits until the cluster is healthy and Switchman routes writes to its leader; returns the leader.
    func healthyLeader() async throws -> ClusterNode {
        try await cluster.waitHealthy()
        let leader = try await cluster.leader()
        try await switchman.waitForStats("Switchman to route writes to \(leader.name)") { $0.routesWrites(to: leader.name) }
        return leader
    }
}

/// Starts the shared `ClusterFixture` around the suite it is attached to (once, not per test).
struct LocalClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> LocalClusterTrait? {
        test.isSuite ? self : nil
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let fixture = try await ClusterFixture.start()
        do {
            try await ClusterFixture.$current.withValue(fixture) { try await function() }
        } catch {
            await fixture.stop()
            throw error
        }
        await fixture.stop()
    }
}

extension Trait where Self == LocalClusterTrait {
    /// The local Patroni cluster with Switchman in front, for the whole suite.
    static var localCluster: Self { LocalClusterTrait() }
}
