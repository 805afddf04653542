import ArgumentParser
import Discovery
import StatsServer
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
    private let coordinator: ClusterCoordinator?
    private let watcher: PatroniWatcher?
    private let assembler: StatsAssembler
    private let statsServer: StatsHTTPServer

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
        // One resolver thread serves the data plane and the promotion probes.
        let resolver = AddressResolver()
        runtime = ProxyRuntime(
            configuration: configuration, group: group, resolver: resolver, logger: logger, sessionLog: sessionLog)
        if let cluster = configuration.cluster {
            let runtime = self.runtime
            let coordinator = ClusterCoordinator(
                listeners: configuration.listeners, cluster: cluster, loop: group.loops[0], logger: Logger(label: "switchman.cluster"),
                resolver: resolver, publish: { routes, completion in runtime.updateRoutes(routes, completion: completion) })
            self.coordinator = coordinator
            watcher = PatroniWatcher(configuration: cluster, logger: Logger(label: "switchman.zookeeper")) { event in
                coordinator.handle(event)
            }
        } else {
            coordinator = nil
            watcher = nil
        }
        let assembler = StatsAssembler(
            configuration: configuration, configPath: configPath, runtime: runtime, coordinator: coordinator, group: group)
        self.assembler = assembler
        // The stats server shares the last loop: the coordinator and its SQL probes live on the first.
        let controls = ControlDispatcher(runtime: runtime, coordinator: coordinator, logger: Logger(label: "switchman.control"))
        statsServer = StatsHTTPServer(
            loop: group.loops[group.loops.count - 1], configuration: StatsRouteConfiguration(configuration.stats),
            logger: Logger(label: "switchman.stats"),
            controller: configuration.stats.admin == nil ? nil : { command, completion in controls.perform(command, completion: completion) }
        ) { completion in assembler.snapshot(completion) }
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
        let statsBind = configuration.stats.bind
        guard case .success(let statsAddresses) = NameResolution.resolve(host: statsBind.host, port: statsBind.port),
              let statsAddress = statsAddresses.first else {
            logger.critical("stats: cannot resolve \(statsBind)")
            throw ExitCode(1)
        }
        do {
            try statsServer.start(bind: statsAddress)
        } catch {
            logger.critical("stats: cannot listen on \(statsBind): \(error.message)")
            throw ExitCode(1)
        }
        logger.info("stats page on http://\(statsServer.address.map { "\($0)" } ?? "\(statsBind)")/")
        assembler.startSampling(on: group.loops[group.loops.count - 1])
        coordinator?.start()
        watcher?.start()
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
            assembler.recordReload(succeeded: false, message: "reload failed: \(error)")
            logger.error("reload failed, keeping the running configuration: \(error)")
            return
        }
        do {
            let needRestart = try runtime.reload(fresh)
            for change in needRestart { logger.warning("reload: \(change) needs a restart; not applied") }
            // What runs: the reloaded file with the old values of what needs a restart.
            configuration = runtime.configuration
            coordinator?.reconfigure(listeners: configuration.listeners)
            assembler.updateConfiguration(configuration)
            let note = needRestart.isEmpty ? "" : "; needs a restart: " + needRestart.joined(separator: ", ")
            assembler.recordReload(succeeded: true, message: "reload applied: \(fresh.listeners.count) listener(s)\(note)")
            logger.info("reload applied: \(fresh.listeners.count) listener(s)")
        } catch {
            assembler.recordReload(succeeded: false, message: "reload failed: \(error)")
            logger.error("reload failed, keeping the running configuration: \(error)")
        }
    }

    private func drainAndExit(signal: Int32) {
        let grace = configuration.timeouts.shutdown
        logger.info("signal \(signal): no new connections; draining sessions for up to \(grace.humanReadable)")
        watcher?.stop()
        let finished = ConditionLock(false)
        runtime.shutdown(grace: grace) {
            finished.withLock { $0 = true }
            finished.wakeAll()
        }
        // Bounded: the runtime cuts sessions at `grace`; allow a little more for the loops to answer.
        _ = finished.wait(timeout: grace + .seconds(5)) { $0 }
        sessionLog.flush()
        group.stop()
        logger.info("stopped")
    }
}
