import ArgumentParser
import SwitchmanCore

/// `switchman`: the command line. `run` is the default subcommand.
@main
struct SwitchmanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchman",
        abstract: "A TCP proxy that follows a Patroni PostgreSQL cluster's leader through ZooKeeper.",
        version: SwitchmanVersion.current,
        subcommands: [RunCommand.self, CheckConfigCommand.self, HealthCommand.self, CtlCommand.self],
        defaultSubcommand: RunCommand.self)
}

/// The version printed by `--version` and shown on the stats page.
enum SwitchmanVersion {
    static let current = "0.1.0"
}
