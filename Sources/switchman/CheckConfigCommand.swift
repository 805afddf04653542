import ArgumentParser
import Foundation
import SwitchmanCore

/// `switchman check-config FILE`: exit 0 when the file (with the environment's overrides) is valid,
/// else exit 2 printing `FILE:LINE: key: message`.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Check a configuration file and exit (0: valid, 2: invalid).")

    @Argument(help: "The configuration file.")
    var file: String

    func run() throws {
        do {
            let configuration = try ConfigurationLoader.load(path: file, environment: ProcessInfo.processInfo.environment)
            print("\(file): OK (\(configuration.listeners.count) listener(s)\(configuration.cluster.map { ", cluster \($0.scope)" } ?? ""))")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
