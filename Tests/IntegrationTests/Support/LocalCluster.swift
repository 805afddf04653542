import Foundation

/// One Patroni node of the local cluster, as `cluster.env` describes it.
struct ClusterNode: Sendable, Equatable {
    /// Patroni member name (`node1`, `node2`).
    let name: String
    /// The number local-cluster.sh takes (1, 2).
    let number: Int
    /// PostgreSQL's port on 127.0.0.1.
    let pgPort: Int
    /// Patroni REST API's port on 127.0.0.1.
    let apiPort: Int
    /// PostgreSQL's data folder (its `postmaster.pid` names the postmaster).
    let dataDirectory: String
    /// The file holding Patroni's pid.
    let patroniPIDFile: String
}

/// The local Patroni cluster (ZooKeeper + two nodes), driven through `scripts/local-cluster.sh` only:
/// the tests exercise the project's own script, the way an operator would.
struct LocalCluster: Sendable {
    /// Folder the script keeps the cluster in (absolute: the script's commands take it as given).
    let directory: String
    let zookeeperPort: Int
    let scope: String
    let namespace: String
    let nodes: [ClusterNode]

    private static var script: String { Repository.localClusterScript }

    /// Starts ZooKeeper and both nodes; waits until healthy (one leader, one sync standby).
    static func start(directory: String) async throws -> LocalCluster {
        try await Command.check(script, ["start", directory], timeout: .seconds(300))
        return try load(directory: directory)
    }

    /// Reads `DIR/cluster.env`.
    static func load(directory: String) throws -> LocalCluster {
        let text = try String(contentsOfFile: directory + "/cluster.env", encoding: .utf8)
        var env: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        func value(_ key: String) throws -> String {
            guard let v = env[key] else { throw IntegrationError("\(directory)/cluster.env has no \(key)") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = Int(try value(key)) else { throw IntegrationError("\(directory)/cluster.env: \(key) is not a number") }
            return v
        }
        let nodes = try [1, 2].map { n in
            ClusterNode(name: try value("NODE\(n)_NAME"), number: n, pgPort: try int("NODE\(n)_PG_PORT"), apiPort: try int("NODE\(n)_API_PORT"),
                        dataDirectory: try value("NODE\(n)_DATA_DIR"), patroniPIDFile: try value("NODE\(n)_PID_FILE"))
        }
        return LocalCluster(directory: directory, zookeeperPort: try int("ZK_PORT"), scope: try value("SCOPE"),
                            namespace: try value("NAMESPACE"), nodes: nodes)
    }

    func node(named name: String) throws -> ClusterNode {
        guard let node = nodes.first(where: { $0.name == name }) else { throw IntegrationError("no cluster node named \(name)") }
        return node
    }

    func other(than node: ClusterNode) -> ClusterNode {
        nodes.first { $0 != node }!  // two nodes, always: cluster.env names node1 and node2
    }

    /// The leader named by ZooKeeper's `leader` znode (else Patroni's REST view).
    func leader() async throws -> ClusterNode {
        let name = try await Command.check(Self.script, ["leader", directory], timeout: .seconds(30))
            .split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        return try node(named: name)
    }

    /// One `/primary` 200, one `/replica` 200 and a sync standby (Patroni promotes nothing without one).
    func waitHealthy(timeout: Int = 150) async throws {
        try await Command.check(Self.script, ["wait-healthy", directory, String(timeout)], timeout: .seconds(timeout + 30))
    }

    /// SIGTERM of the node's Patroni (like `docker stop`); returns once Patroni exited.
    func stopNode(_ node: ClusterNode) async throws {
        try await Command.check(Self.script, ["stop-node", directory, String(node.number)], timeout: .seconds(120))
    }

    /// SIGKILL of the node's Patroni and PostgreSQL (a crash).
    func killNode(_ node: ClusterNode) async throws {
        try await Command.check(Self.script, ["kill-node", directory, String(node.number)], timeout: .seconds(60))
    }

    /// Starts the node's Patroni again (does not wait for it).
    func startNode(_ node: ClusterNode) async throws {
        try await Command.check(Self.script, ["start-node", directory, String(node.number)], timeout: .seconds(60))
    }

    /// Patroni's `POST /switchover` to `candidate`; returns with Patroni's answer.
    func switchover(to candidate: ClusterNode) async throws -> String {
        try await Command.check(Self.script, ["switchover", directory, candidate.name], timeout: .seconds(120))
    }

    /// Patroni's `POST /restart` on the node: PostgreSQL restarts, Patroni keeps the node's role (and the
    /// leader key). Returns once Patroni answered and says `running`, within `timeout` seconds.
    func restartNode(_ node: ClusterNode, timeout: Int = 90) async throws {
        try await Command.check(Self.script, ["restart-node", directory, String(node.number), String(timeout)],
                                timeout: .seconds(timeout + 30))
    }

    /// SIGKILL of the node's postmaster and its children, Patroni left running (a PostgreSQL crash that
    /// Patroni recovers from by starting it again). Returns once they are gone, not once it is back.
    func killPostgres(_ node: ClusterNode) async throws {
        try await Command.check(Self.script, ["kill-postgres", directory, String(node.number)], timeout: .seconds(60))
    }

    /// Stops ZooKeeper, keeps it down `downSeconds`, starts it again on the same port with the same data.
    func restartZooKeeper(downSeconds: Int) async throws {
        try await Command.check(Self.script, ["restart-zk", directory, String(downSeconds)], timeout: .seconds(120))
    }

    /// Stops both nodes and ZooKeeper (idempotent).
    func stop() async throws {
        try await Command.check(Self.script, ["stop", directory], timeout: .seconds(240))
    }
}
