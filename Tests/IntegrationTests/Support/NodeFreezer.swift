import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A node frozen the way a hung VM is: its Patroni, its postmaster and every descendant of either
/// stopped with SIGSTOP. The kernel keeps their sockets: connects still complete in the listen backlog
/// and bytes sent to them are buffered, but nothing answers. `thaw()` sends SIGCONT to every one.
struct FrozenNode: Sendable {
    let node: ClusterNode
    /// Every process stopped, Patroni first.
    let pids: [pid_t]

    /// Stops `node`'s Patroni (pid from its pid file) and its PostgreSQL (the postmaster named by the
    /// first line of `postmaster.pid` in its data folder) and all their descendants. Throws, thawing
    /// whatever it stopped, when either is not running.
    static func freeze(_ node: ClusterNode) throws -> FrozenNode {
        let patroni = try livePID(fromFile: node.patroniPIDFile, commandLineContains: "patroni")
        let postmaster = try livePID(fromFile: node.dataDirectory + "/postmaster.pid", commandLineContains: node.dataDirectory)
        var stopped: [pid_t] = []
        // Roots first: a stopped process forks no more, so the descendants found next are all there are.
        for pid in [patroni, postmaster] where !stopped.contains(pid) {
            kill(pid, SIGSTOP)
            stopped.append(pid)
        }
        // A child forked just before its parent stopped is found by the next round (bounded: the tree is
        // finite and frozen after the first round that adds nothing).
        for _ in 0..<5 {
            let more = stopped.flatMap(descendants).filter { !stopped.contains($0) }
            if more.isEmpty { break }
            for pid in more where !stopped.contains(pid) {
                kill(pid, SIGSTOP)
                stopped.append(pid)
            }
        }
        return FrozenNode(node: node, pids: stopped)
    }

    /// SIGCONT to every process stopped (harmless for those gone since).
    func thaw() {
        for pid in pids { kill(pid, SIGCONT) }
    }

    /// Whether every process is in state T (stopped), from `/proc/<pid>/stat`.
    var allStopped: Bool {
        pids.allSatisfy { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return true }  // gone: nothing runs
            return stat[stat.index(after: close)...].split(separator: " ").first == "T"
        }
    }

    private static func livePID(fromFile path: String, commandLineContains pattern: String) throws -> pid_t {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first,
              let pid = pid_t(line.trimmingCharacters(in: .whitespaces)) else {
            throw IntegrationError("no pid in \(path)")
        }
        // The command line must name it: a stale file's recycled pid is never taken for ours.
        guard let cmdline = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")),
              String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(pattern) else {
            throw IntegrationError("pid \(pid) from \(path) is not running \(pattern)")
        }
        return pid
    }

    /// `pid`'s children, grandchildren… from `/proc/<pid>/task/*/children` (at most 1,000).
    private static func descendants(of pid: pid_t) -> [pid_t] {
        var found: [pid_t] = []
        var queue = [pid]
        while let next = queue.popLast(), found.count < 1000 {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? []
            for task in tasks {
                let text = (try? String(contentsOfFile: "/proc/\(next)/task/\(task)/children", encoding: .utf8)) ?? ""
                for child in text.split(separator: " ").compactMap({ pid_t($0) }) where !found.contains(child) {
                    found.append(child)
                    queue.append(child)
                }
            }
        }
        return found
    }
}

/// One TCP socket of a process, from `/proc/net/tcp{,6}` matched against `/proc/<pid>/fd`.
struct ProcessTCPSocket: Sendable, CustomStringConvertible {
    let localPort: Int
    let remotePort: Int
    /// The kernel's state number (1 established, 2 SYN sent, 8 close wait…).
    let state: Int

    var description: String { "127.0.0.1:\(localPort)→\(remotePort) (state \(state))" }

    /// The TCP sockets `pid` holds open whose remote port is `remotePort`.
    static func held(by pid: pid_t, toRemotePort remotePort: Int) -> [ProcessTCPSocket] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        var inodes = Set<String>()
        for fd in fds {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { continue }
            inodes.insert(String(target.dropFirst("socket:[".count).dropLast()))
        }
        var sockets: [ProcessTCPSocket] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in readProcFile(table).split(separator: "\n").dropFirst() {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                let fields = line.split(separator: " ")
                guard fields.count > 9, inodes.contains(String(fields[9])),
                      let local = port(of: fields[1]), let remote = port(of: fields[2]), remote == remotePort,
                      let state = Int(fields[3], radix: 16) else { continue }
                sockets.append(ProcessTCPSocket(localPort: local, remotePort: remote, state: state))
            }
        }
        return sockets
    }

    /// The whole of a `/proc` file. Foundation's `String(contentsOfFile:)` stops after the first read
    /// (one page, ~4 KB) of these files, which report a size of 0: `/proc/net/tcp` is longer.
    private static func readProcFile(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        // Bounded: 64 MB is far beyond any socket table of this machine.
        while bytes.count < 64 << 20 {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The port of an `ADDRESS:PORT` field (both hexadecimal).
    private static func port(of field: Substring) -> Int? {
        field.split(separator: ":").last.flatMap { Int($0, radix: 16) }
    }
}
