import Foundation
import Glibc
import Testing

/// Faults against the real `switchman run` binary with fake loopback backends (no cluster): what
/// the kernel says about the process (`/proc/<pid>`: resident memory, descriptors, CPU time) is the
/// evidence. Serialized: the tests count another process's descriptors and load a small machine.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SwitchmanFaultTests {
    // MARK: - A client that reads nothing

    @Test(arguments: ["on", "off"])
    func aClientThatReadsNothingWhileTheServerSends100MBKeepsSwitchmansMemoryBoundedByItsBuffersAndPipes(splice: String) throws {
        let total = 100 << 20
        let firehose = try FirehoseServer(total: total)
        defer { firehose.stop() }
        let ports = try freeLoopbackPorts(2)
        let proxy = try StaticSwitchman(configuration: """
            threads: 1
            log_sessions: false
            splice: \(splice)
            pipe_size: 1MB
            buffer_size: 16KB
            listeners:
              - { name: raw, bind: "127.0.0.1:\(ports[0])", role: static, servers: ["127.0.0.1:\(firehose.port)"] }
            stats: { bind: "127.0.0.1:\(ports[1])" }
            """)
        defer { proxy.stop() }
        let port = Int(try proxy.waitForListener("raw"))
        let before = ProcessProbe.residentBytes(proxy.pid)

        let client = try FaultSocket.connect(port, timeoutSeconds: 60)
        defer { close(client) }
        // The server writes until every buffer on the way is full, then stalls.
        var stalledAt = 0
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let sent = firehose.sent
            usleep(500_000)
            if sent > 0 && firehose.sent == sent {
                stalledAt = sent
                break
            }
        }
        let stalled = ProcessProbe.residentBytes(proxy.pid)
        #expect(stalledAt > 0 && stalledAt < total, "the server's sends never stalled (sent \(firehose.sent))")
        // What Switchman holds in user space is one 16 KB buffer (or a pipe, in the kernel); the
        // rest of what the server got rid of sits in socket buffers. 100 MB buffered would show here.
        let growth = stalled - before
        #expect(growth < 8 << 20, "RSS grew by \(growth >> 10) KB while the client read nothing")

        let received = try FaultSocket.drain(client)
        #expect(received == total)
        let after = ProcessProbe.residentBytes(proxy.pid)
        print("[fault] splice \(splice): the server stalled after \(stalledAt >> 10) KB of 100 MB; Switchman RSS \(before >> 10) KB before, \(stalled >> 10) KB stalled, \(after >> 10) KB after all \(received >> 20) MB arrived")
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}
