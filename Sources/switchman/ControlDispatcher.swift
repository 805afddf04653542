import Discovery
import Logging
import ProxyRuntime
import SwitchmanCore

/// Carries out the stats server's runtime controls: member states and listener pauses go to the
/// cluster coordinator (they change route planning), `shutdown-sessions` to the data plane. Logs
/// every control with who asked and what came of it.
final class ControlDispatcher: Sendable {
    private let runtime: ProxyRuntime
    private let coordinator: ClusterCoordinator?
    private let logger: Logger

    init(runtime: ProxyRuntime, coordinator: ClusterCoordinator?, logger: Logger) {
        self.runtime = runtime
        self.coordinator = coordinator
        self.logger = logger
    }

    /// Performs `command`; `completion` may run on any thread.
    func perform(_ command: ControlCommand, completion: @escaping @Sendable (ControlOutcome) -> Void) {
        let logged: @Sendable (ControlOutcome) -> Void = { [logger] outcome in
            Self.log(command, outcome, logger)
            completion(outcome)
        }
        guard let coordinator else {
            // Without a cluster there are no members, and static listeners' routes are not planned.
            switch command.target {
            case .member(let name): logged(.notFound("no member \(name): no cluster: section is configured"))
            case .listener: logged(.conflict("pause and resume need a cluster: section (static listeners are not planned)"))
            }
            return
        }
        coordinator.control(command) { [runtime] outcome in
            guard command.action == .shutdownSessions, case .done = outcome, case .member(let name) = command.target else {
                logged(outcome)
                return
            }
            runtime.shutdownSessions(ofMember: name, detail: "shut down by \(command.user) from \(command.client)") { closed in
                logged(.done("member \(name): \(closed) session\(closed == 1 ? "" : "s") closed"))
            }
        }
    }

    private static func log(_ command: ControlCommand, _ outcome: ControlOutcome, _ logger: Logger) {
        let metadata: Logger.Metadata = [
            "user": "\(command.user)", "client": "\(command.client)", "action": "\(command.action.rawValue)",
            "target": "\(command.target)",
        ]
        switch outcome {
        case .done(let message):
            logger.notice("control by \(command.user) from \(command.client): \(message)", metadata: metadata)
        case .notFound(let message), .conflict(let message):
            logger.warning("control by \(command.user) from \(command.client) refused: \(message)", metadata: metadata)
        }
    }
}
