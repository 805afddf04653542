import Glibc
import Logging
import PosixIO
import Reactor
import SwitchmanCore
import Synchronization
@testable import ProxyRuntime

/// A running proxy on 2 loops for one test; `stop()` drains and stops the loops.
final class ProxyHarness: Sendable {
    let runtime: ProxyRuntime
    let group: EventLoopGroup

    /// `logs`: records the runtime's diagnostics from `notice` up (else only critical ones are kept, nowhere).
    init(_ configuration: ProxyConfiguration, resolver: AddressResolver = AddressResolver(), logs: CapturedLogs? = nil) throws {
        group = try EventLoopGroup(count: 2)
        var logger = logs.map { logs in Logger(label: "test") { _ in CapturingLogHandler(logs) } } ?? Logger(label: "test")
        logger.logLevel = logs == nil ? .critical : .notice
        runtime = ProxyRuntime(
            configuration: configuration, group: group, resolver: resolver, logger: logger, sessionLog: nil)
        group.start()
        try runtime.start()
    }

    /// The runtime's process-wide cancel table.
    var cancelTable: CancelTable { runtime.cancelTable }

    /// The port a listener is bound to.
    func port(_ listener: String) -> UInt16 { runtime.boundAddresses[listener]!.port }

    func statistics() -> RuntimeStatistics {
        let result = Mutex<RuntimeStatistics?>(nil)
        runtime.collectStatistics { stats in result.withLock { $0 = stats } }
        _ = eventually(seconds: 5) { result.withLock { $0 != nil } }
        return result.withLock { $0! }
    }

    func stop() {
        let done = Atomic<Bool>(false)
        runtime.shutdown(grace: .milliseconds(200)) { done.store(true, ordering: .releasing) }
        _ = eventually(seconds: 5) { done.load(ordering: .acquiring) }
        group.stop()
        // The loop threads must have returned before the next test counts descriptors.
        group.waitUntilStopped(timeout: .seconds(10))
    }
}

func staticListener(_ name: String = "raw", servers: [UInt16], balance: BalanceAlgorithm = .roundrobin,
                    maxconn: Int? = nil, serverMaxconn: Int? = nil, retries: Int = 2) -> ListenerConfiguration {
    ListenerConfiguration(
        name: name, bind: Endpoint(host: "127.0.0.1", port: 0), role: .static,
        servers: servers.map { Endpoint(host: "127.0.0.1", port: $0) }, balance: balance, maxconn: maxconn,
        serverMaxconn: serverMaxconn, retries: retries)
}

/// Log lines a test's runtime wrote: level, message and metadata.
final class CapturedLogs: Sendable {
    private let stored = Mutex<[String]>([])
    func append(_ line: String) { stored.withLock { $0.append(line) } }
    var lines: [String] { stored.withLock { $0 } }
}

/// Writes each line to ``CapturedLogs`` as `level message key=value…`.
struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    init(_ logs: CapturedLogs) { self.logs = logs }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.level) \(event.message)" + all.keys.sorted().map { " \($0)=\(all[$0]!)" }.joined())
    }
}
