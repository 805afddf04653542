import CZooKeeper
import Foundation
import Logging
import Synchronization

/// Sends the C client's log lines into swift-log.
///
/// `zookeeper_init2`'s log callback gets no context pointer, so the logger is process-wide: the last
/// watcher started sets it. Levels map one step down (`ZOO_ERROR` → warning, `ZOO_WARN` → notice,
/// `ZOO_INFO` → debug): the client logs an error on every failed reconnect attempt, which the
/// watcher already reports once as a session event.
enum ZooKeeperLogBridge {
    private static let logger = Mutex<Logger?>(nil)

    /// Installs `logger` and sets the C client's global level to what it would show.
    static func install(_ logger: Logger) {
        self.logger.withLock { $0 = logger }
        let level: ZooLogLevel = switch logger.logLevel {
        case .trace: ZOO_LOG_LEVEL_DEBUG
        case .debug: ZOO_LOG_LEVEL_INFO
        default: ZOO_LOG_LEVEL_WARN
        }
        zoo_set_debug_level(level)
    }

    static func log(_ line: String) {
        guard let logger = logger.withLock({ $0 }) else { return }
        // Lines look like "2026-01-01 10:00:00,123:4242(0x7f…):ZOO_ERROR@function@1234: text".
        var level = Logger.Level.debug
        var text = Substring(line)
        if let marker = line.range(of: ":ZOO_") {
            let rest = line[marker.upperBound...]
            if rest.hasPrefix("ERROR") { level = .warning } else if rest.hasPrefix("WARN") { level = .notice } else if rest.hasPrefix("DEBUG") { level = .trace }
            if let textStart = rest.range(of: ": ") { text = rest[textStart.upperBound...] }
        }
        let message = text.trimmingCharacters(in: .newlines)
        // While ZooKeeper is down the client repeats the same line several times a second: show it
        // at its level once per `repeatWindow`, with how many times it came meanwhile; repeats in
        // between go to debug.
        let now = DispatchTime.now().uptimeNanoseconds
        let repeats = recent.withLock { table -> Int? in
            if table.count > 256 { table.removeAll() }
            if let seen = table[message], now &- seen.at < repeatWindow {
                table[message] = (seen.at, seen.repeats + 1)
                return nil
            }
            let previous = table[message]?.repeats ?? 0
            table[message] = (now, 0)
            return previous
        }
        guard let repeats else {
            logger.log(level: .debug, "\(message)", metadata: ["component": "libzookeeper"])
            return
        }
        var metadata: Logger.Metadata = ["component": "libzookeeper"]
        if repeats > 0 { metadata["repeated"] = "\(repeats)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// How long an identical line stays at debug level after it was shown.
    private static let repeatWindow: UInt64 = 10_000_000_000
    /// Last time each recent line was shown, and how often it came since.
    private static let recent = Mutex<[String: (at: UInt64, repeats: Int)]>([:])
}

/// The C log callback handed to `zookeeper_init2`: a global function, as Swift 6.3.1 crashes on
/// capturing `@convention(c)` closures.
func zooKeeperLogCallback(_ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    ZooKeeperLogBridge.log(String(cString: message))
}
