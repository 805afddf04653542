/// A failure of the integration harness itself (a script that failed, a wait that timed out), with
/// everything needed to see why in its message.
struct IntegrationError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
