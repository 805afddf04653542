import ArgumentParser
import Foundation
import Logging
import PosixIO
import ProxyRuntime
import Reactor
import SwitchmanCore

/// `switchman run --config FILE`: the proxy in the foreground until SIGTERM/SIGINT; SIGHUP reloads.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the proxy (the default).")

    @Option(name: .long, help: "The configuration file (default: $SWITCHMAN_CONFIG, else /etc/switchman/proxy.conf).")
    var config: String?

    @Option(name: .long, help: "Log format: text or json (also $SWITCHMAN_LOG_FORMAT).")
    var logFormat: LogFormat?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (also $SWITCHMAN_LOG_LEVEL).")
    var logLevel: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let format = logFormat ?? environment["SWITCHMAN_LOG_FORMAT"].flatMap(LogFormat.init(rawValue:)) ?? .text
        let levelText = logLevel ?? environment["SWITCHMAN_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            throw ValidationError("unknown log level \"\(levelText)\"")
        }
        LoggingSetup.bootstrap(format: format, level: level)
        // Diagnostics are written by the log thread: let it finish before the process exits.
        defer { LoggingSetup.diagnostics.flush(timeout: .seconds(2)) }
        let path = config ?? ConfigurationLoader.configPath(environment: environment, default: "/etc/switchman/proxy.conf")
        let configuration: ProxyConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: path, environment: environment)
        } catch {
            FileHandle.standardError.write(Data("switchman: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let supervisor = try Supervisor(configuration: configuration, configPath: path, logFormat: format)
        try supervisor.run()
    }
}
