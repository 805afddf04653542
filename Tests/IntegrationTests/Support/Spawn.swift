import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Child processes started with `posix_spawn`, an empty signal mask and default signal actions.
///
/// Not Foundation's `Process`: its children inherit the spawning thread's blocked signals here (seen:
/// SIGTERM and SIGALRM blocked in every child), so `timeout`, `nc -q`, a SIGTERM to Patroni or to
/// Switchman never took effect and local-cluster.sh hung.
enum Spawn {
    /// Starts `executable`; stdin from `stdin`, stdout and stderr appended to `output` (and `errors`,
    /// when given, for stderr). Returns the child's pid; reap it with `wait`.
    /// `environment`, when given, replaces the inherited one (`KEY=value` strings).
    static func start(_ executable: String, _ arguments: [String], stdin: String = "/dev/null",
                      output: String, errors: String? = nil, environment: [String]? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errors {
            posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw IntegrationError("posix_spawn \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// The exit status (128 + signal when killed) once `pid` ended, else `nil` (non-blocking).
    static func poll(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, WNOHANG)
        guard rc == pid else { return rc < 0 ? -1 : nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Waits (bounded) for `pid` to end; SIGKILL after `timeout`. Returns the exit status and whether it timed out.
    static func wait(_ pid: pid_t, timeout: Duration) -> (status: Int32, timedOut: Bool) {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let status = poll(pid) { return (status, false) }
            if ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
                return (128 + SIGKILL, true)
            }
            usleep(20_000)
        }
    }
}
