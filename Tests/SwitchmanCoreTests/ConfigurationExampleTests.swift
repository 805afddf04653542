import Foundation
import Testing

@testable import SwitchmanCore

/// `proxy.conf.example` and `docs/CONFIGURATION.md` say what the code does.
struct ConfigurationExampleTests {
    /// The repository's top directory, found from this file's path (Tests/SwitchmanCoreTests/…).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: repository.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// The example with its commented-out keys enabled: one level of `# ` is removed from every
    /// comment line that holds a key (`# key:`) or a list item (`# - `); prose comments stay.
    static func uncommented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let indent = line.prefix { $0 == " " }
            let rest = line.dropFirst(indent.count)
            guard rest.hasPrefix("# ") else { return String(line) }
            let body = rest.dropFirst(2)
            let content = body.drop { $0 == " " }
            let isItem = content.hasPrefix("- ")
            let key = content.prefix { $0.isLowercase || $0 == "_" }
            let isKey = !key.isEmpty && content.dropFirst(key.count).hasPrefix(":")
            return isItem || isKey ? String(indent + body) : String(line)
        }.joined(separator: "\n")
    }

    @Test("every value the example file shows equals the default of the configuration structs")
    func exampleShowsTheDefaults() throws {
        let text = try Self.read("proxy.conf.example")
        let parsed = try ConfigurationLoader.parse(yaml: text, file: "proxy.conf.example", environment: [:])
        // Everything but the listener (which has to name servers) is the default configuration.
        let expected = ProxyConfiguration(listeners: parsed.listeners)
        #expect(parsed == expected)
        let listener = try #require(parsed.listeners.first)
        #expect(parsed.listeners.count == 1)
        #expect(listener == ListenerConfiguration(name: listener.name, bind: listener.bind, servers: listener.servers))
        #expect(listener.role == .static && !listener.servers.isEmpty)
    }

    @Test("the commented-out keys of the example are valid and show the cluster defaults")
    func commentedExampleIsValid() throws {
        let text = Self.uncommented(try Self.read("proxy.conf.example"))
        let parsed = try ConfigurationLoader.parse(yaml: text, file: "proxy.conf.example (uncommented)", environment: [:])
        let cluster = try #require(parsed.cluster)
        let defaults = ClusterConfiguration(scope: cluster.scope, zookeeper: ZooKeeperConfiguration(hosts: cluster.zookeeper.hosts))
        #expect(cluster.namespace == defaults.namespace)
        #expect(cluster.zookeeper.sessionTimeout == defaults.zookeeper.sessionTimeout)
        #expect(cluster.check.user == defaults.check.user)
        #expect(cluster.check.database == defaults.check.database)
        #expect(cluster.check.interval == defaults.check.interval)
        #expect(cluster.check.timeout == defaults.check.timeout)
        #expect(cluster.holdTimeout == defaults.holdTimeout)
        #expect(cluster.holdMax == defaults.holdMax)
        #expect(parsed.listeners.map(\.role) == [.static, .primary, .replica])
        let replicas = parsed.listeners[2]
        #expect(replicas.fallback == ListenerConfiguration(name: "x", bind: replicas.bind).fallback)
        #expect(replicas.balance == ListenerConfiguration(name: "x", bind: replicas.bind).balance)
    }

    /// Every key path of the schema, `listeners[].bind` style.
    static var schemaKeys: Set<String> {
        var keys = Set(ConfigurationSchema.root)
        keys.formUnion(ConfigurationSchema.timeouts.map { "timeouts.\($0)" })
        keys.formUnion(ConfigurationSchema.tcpKeepalive.map { "tcp_keepalive.\($0)" })
        keys.formUnion(ConfigurationSchema.listener.map { "listeners[].\($0)" })
        keys.formUnion(ConfigurationSchema.stats.map { "stats.\($0)" })
        keys.formUnion(ConfigurationSchema.statsAdmin.map { "stats.admin.\($0)" })
        keys.formUnion(ConfigurationSchema.cluster.map { "cluster.\($0)" })
        keys.formUnion(ConfigurationSchema.zookeeper.map { "cluster.zookeeper.\($0)" })
        keys.formUnion(ConfigurationSchema.check.map { "cluster.check.\($0)" })
        return keys
    }

    /// The key paths present in a YAML text (list items as `[]`).
    static func keyPaths(of yaml: String) throws -> Set<String> {
        let root = try ConfigurationLoader.tree(yaml: yaml, file: "example")
        var paths: Set<String> = []
        func walk(_ node: ConfigNode, _ path: String) {
            switch node {
            case .mapping(let entries, _):
                for entry in entries {
                    let child = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                    paths.insert(child)
                    // A listener's `tags:` holds Patroni's tag names, not configuration keys.
                    if child != "listeners[].tags" { walk(entry.value, child) }
                }
            case .sequence(let items, _):
                for item in items { walk(item, path + "[]") }
            case .scalar:
                break
            }
        }
        walk(root, "")
        return paths
    }

    @Test("the example file shows every key, set or commented out")
    func exampleDocumentsEveryKey() throws {
        var shown = try Self.keyPaths(of: Self.uncommented(try Self.read("proxy.conf.example")))
        // passfile is shown as a second-level comment, as it excludes password.
        if try Self.read("proxy.conf.example").contains("# passfile:") { shown.insert("cluster.check.passfile") }
        // So is password_file, as it excludes password.
        if try Self.read("proxy.conf.example").contains("# password_file:") { shown.insert("stats.admin.password_file") }
        #expect(Self.schemaKeys.subtracting(shown).sorted() == [])
        #expect(shown.subtracting(Self.schemaKeys).sorted() == [])
    }

    @Test("docs/CONFIGURATION.md names every key and every environment variable")
    func referenceDocumentsEverything() throws {
        let text = try Self.read("docs/CONFIGURATION.md")
        for key in Self.schemaKeys.sorted() {
            let leaf = key.split(separator: ".").last.map(String.init) ?? key
            #expect(text.contains("`\(leaf)`"), "key \(key) is not documented")
        }
        for variable in ConfigurationLoader.environmentVariables(listenerNames: []) {
            #expect(text.contains(variable), "variable \(variable) is not documented")
        }
        for key in ConfigurationSchema.overridableListenerKeys {
            #expect(text.contains("SWITCHMAN_LISTENER_<NAME>_\(key.uppercased())"), "listener variable for \(key) is not documented")
        }
        for variable in ConfigurationLoader.reservedEnvironmentVariables {
            #expect(text.contains(variable), "reserved variable \(variable) is not documented")
        }
    }
}
