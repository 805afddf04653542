import ArgumentParser
import Foundation
import Logging
import Reactor
import Synchronization
import SwitchmanCore

/// `--log-format`
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Installs the process-wide swift-log handler once. Every handler formats its line on the calling
/// thread and hands it to ``diagnostics``, whose own thread writes stderr: a loop thread that logs
/// never waits for whoever reads stderr.
enum LoggingSetup {
    /// The writer of every diagnostic line (stderr). Lines beyond 1 MiB waiting are dropped and counted.
    static let diagnostics = LogWriter(fd: 2, threadName: "switchman-logd", maxPending: 1 << 20)

    static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap(makeHandlerFactory(format: format, level: level, writer: diagnostics))
    }

    /// The factory `bootstrap` installs, writing to `writer`: one ``JSONLineEncoder`` (with its one
    /// date formatter) is shared by every logger it creates.
    static func makeHandlerFactory(format: LogFormat, level: Logger.Level, writer: LogWriter) -> @Sendable (String) -> any LogHandler {
        let encoder = JSONLineEncoder()
        return { label in
            var handler: any LogHandler
            switch format {
            case .text: handler = StreamLogHandler(label: label, stream: LogWriterStream(writer: writer))
            case .json: handler = JSONLogHandler(label: label, encoder: encoder, writer: writer)
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// The stream swift-log's text handler writes its lines into: each `write` is one whole line
/// (newline included), queued on a ``LogWriter``.
struct LogWriterStream: TextOutputStream, Sendable {
    let writer: LogWriter

    mutating func write(_ string: String) {
        writer.append(string, newline: false)
    }
}

/// One JSON object per line on stderr: `{"ts":…,"level":…,"label":…,"msg":…, metadata…}`.
struct JSONLogHandler: LogHandler {
    let label: String
    let encoder: JSONLineEncoder
    let writer: LogWriter
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        writer.append(encoder.line(level: event.level, label: label, message: event.message.description, metadata: merged))
    }
}

/// Builds the JSON log lines of every logger of the process. Holds the one ISO 8601 formatter
/// (building one per line cost more than the rest of the line), which runs at most once a second:
/// the text of the current second is kept.
final class JSONLineEncoder: Sendable {
    private struct Timestamps {
        let formatter = ISO8601DateFormatter()
        var second = Int.min
        var text = ""
    }

    private let timestamps = Mutex(Timestamps())

    /// `ts` as ISO 8601 in UTC to the second, e.g. `2025-01-31T12:00:00Z`.
    func timestamp(_ date: Date) -> String {
        let second = Int(date.timeIntervalSince1970.rounded(.down))
        return timestamps.withLock { cache in
            if cache.second != second {
                cache.second = second
                cache.text = cache.formatter.string(from: Date(timeIntervalSince1970: Double(second)))
            }
            return cache.text
        }
    }

    /// One line without its newline: an object of strings, keys sorted, metadata last-wins over
    /// the fixed keys (as before). Written by hand: JSONSerialization took ~10 times longer.
    func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata, date: Date = Date()) -> String {
        var fields = ["ts": timestamp(date), "level": level.rawValue, "label": label, "msg": message]
        for (key, value) in metadata { fields[key] = "\(value)" }
        var out = "{"
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            if out.utf8.count > 1 { out += "," }
            JSONText.appendQuoted(key, to: &out)
            out += ":"
            JSONText.appendQuoted(value, to: &out)
        }
        out += "}"
        return out
    }
}
