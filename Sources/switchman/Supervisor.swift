import ArgumentParser
import Foundation
import Glibc
import Logging
import PosixIO
import ProxyRuntime
import Reactor
import Synchronization
import SwitchmanCore

/// Wires the parts together and owns the process's life: start, SIGHUP reloads, SIGTERM drain.
final class Supervisor {
    private let configPath: String
    private var configuration: ProxyConfiguration
    private let logger = Logger(label: "switchman")
    private let group: EventLoopGroup
    private let runtime: ProxyRuntime
    private let sessionLog: SessionLog

    init(configuration: ProxyConfiguration, configPath: String, logFormat: LogFormat) throws {
        self.configPath = configPath
        self.configuration = configuration
        // Writes into a reset socket must fail with EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        // Block the signals we wait for before any thread starts, so every thread inherits the mask
        // and only `sigwait` below sees them.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)

        let threads = configuration.threads ?? EventLoopGroup.availableCPUs()
        group = try EventLoopGroup(count: threads)
        sessionLog = SessionLog(fd: 1, format: logFormat == .json ? .json : .text)
        runtime = ProxyRuntime(
            configuration: configuration, group: group, resolver: AddressResolver(), logger: logger, sessionLog: sessionLog)
        logger.info("switchman \(SwitchmanVersion.current) starting: \(threads) event loop(s), config \(configPath)")
    }

    func run() throws {
        group.start()
        do {
            try runtime.start()
        } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signal) }
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            switch received {
            case SIGHUP:
                reload()
            default:
                drainAndExit(signal: received)
                return
            }
        }
    }

    private func reload() {
        logger.info("SIGHUP: reloading \(configPath)")
        let fresh: ProxyConfiguration
        do {
            fresh = try ConfigurationLoader.load(path: configPath, environment: ProcessInfo.processInfo.environment)
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        do {
            let needRestart = try runtime.reload(fresh)
            for change in needRestart { logger.warning("reload: \(change) needs a restart; not applied") }
            configuration = fresh
            logger.info("reload applied: \(fresh.listeners.count) listener(s)")
        } catch {
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }

    private func drainAndExit(signal: Int32) {
        let grace = configuration.timeouts.shutdown
        logger.info("signal \(signal): no new connections; draining sessions for up to \(grace.humanReadable)")
        let finished = Atomic<Bool>(false)
        runtime.shutdown(grace: grace) { finished.store(true, ordering: .releasing) }
        // Bounded: the runtime cuts sessions at `grace`; allow a little more for the loops to answer.
        let deadline = Clock.monotonicNanoseconds() + grace.nanoseconds + 5_000_000_000
        while !finished.load(ordering: .acquiring) && Clock.monotonicNanoseconds() < deadline { usleep(10_000) }
        sessionLog.flush()
        group.stop()
        logger.info("stopped")
    }
}
