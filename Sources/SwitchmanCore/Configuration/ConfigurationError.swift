/// A configuration that cannot be used: where it is wrong (file, line, key) and why.
///
/// Its description is what `switchman check-config` prints and what SIGHUP logs:
/// `proxy.conf:7: listeners[1].bind: expected host:port, got "abc"`. An error that comes from an
/// environment variable names `environment` as its file and the variable as its key, without a line.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The file the error is in, as given to the loader, or `environment` for an override.
    public let file: String
    /// 1-based line of the offending value in `file`; `nil` when no line applies (unreadable file,
    /// environment variable, empty document).
    public let line: Int?
    /// Path of the offending key (`listeners[1].bind`, `timeouts.connect`), or the environment
    /// variable's name; empty when the error concerns the whole file.
    public let key: String
    /// What is wrong, in words an operator can act on.
    public let message: String

    /// Creates an error; see the properties for what each part means.
    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: KEY: message`, leaving out the line and the key when there are none.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if !key.isEmpty { text += key + ": " }
        return text + message
    }
}
