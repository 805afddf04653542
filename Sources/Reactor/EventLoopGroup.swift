import CShims
import Glibc
import PosixIO

/// A fixed set of event loops, one thread each.
public final class EventLoopGroup: Sendable {
    /// The loops, in thread order.
    public let loops: [EventLoop]
    /// Loop threads started and not yet returned.
    private let running = ConditionLock(0)

    /// Creates `count` loops (not yet running).
    public init(count: Int) throws(IOError) {
        precondition(count > 0, "an event loop group needs at least one loop")
        var loops: [EventLoop] = []
        for i in 0..<count { loops.append(try EventLoop(index: i)) }
        self.loops = loops
    }

    /// Starts one thread per loop.
    public func start() {
        running.withLock { $0 += loops.count }
        for loop in loops {
            DetachedThread.spawn(name: "switchman-loop-\(loop.index)") { [running] in
                loop.run()
                running.withLock { $0 -= 1 }
                running.wakeAll()
            }
        }
    }

    /// Stops every loop (their threads return after the current turn).
    public func stop() {
        for loop in loops { loop.stop() }
    }

    /// Waits until every loop thread has returned from its run, at most `timeout` (after
    /// ``stop()``). Returns whether they all did. Not on a loop thread.
    @discardableResult
    public func waitUntilStopped(timeout: Duration) -> Bool {
        running.wait(timeout: timeout) { $0 == 0 }
    }

    /// The CPUs this process may use: the affinity mask, further limited by a cgroup v2/v1 CPU quota.
    public static func availableCPUs() -> Int {
        var count = Int(switchman_affinity_cpu_count())
        if count <= 0 { count = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        if let quota = cgroupCPUQuota() { count = min(count, max(1, Int(quota.rounded(.up)))) }
        return count
    }

    /// CPUs granted by the cgroup quota (`cpu.max` "quota period", or v1 cfs files), `nil` when unlimited.
    static func cgroupCPUQuota() -> Double? {
        if let text = readSmallFile("/sys/fs/cgroup/cpu.max") {
            let parts = text.split(separator: " ")
            if parts.count == 2, let quota = Double(parts[0]), let period = Double(parts[1].trimmingCharacters), period > 0 {
                return quota / period
            }
            return nil
        }
        if let q = readSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").flatMap({ Double($0.trimmingCharacters) }),
           let p = readSmallFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us").flatMap({ Double($0.trimmingCharacters) }),
           q > 0, p > 0 {
            return q / p
        }
        return nil
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = Glibc.read(fd, &buffer, buffer.count)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }
}

extension StringProtocol {
    fileprivate var trimmingCharacters: String {
        String(self.filter { !$0.isWhitespace })
    }
}
