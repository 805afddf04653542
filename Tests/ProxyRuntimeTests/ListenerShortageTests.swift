import Glibc
import PosixIO
import Synchronization
import SwitchmanCore
import Testing
@testable import ProxyRuntime

extension SocketTests {
/// A listener whose accept fails for want of descriptors or kernel memory: the connection stays
/// in the backlog and the level-triggered socket stays readable.
@Suite(.serialized)
struct ListenerShortageTests {
    /// Accept calls made through the fake, from every loop.
    private final class Calls: Sendable {
        let count = Atomic<Int>(0)
        let installed = Atomic<Int>(0)
    }

    /// Puts `accept` in every loop's listener `name`; returns once every loop has it.
    private func install(_ proxy: ProxyHarness, _ name: String, calls: Calls,
                         _ accept: @escaping @Sendable (Int32) throws(IOError) -> IOResult<AcceptedSocket>) {
        calls.installed.store(0, ordering: .relaxed)
        for worker in proxy.runtime.workers {
            worker.loop.execute {
                if let listener = worker.listeners[name] { listener.acceptCall = accept }
                calls.installed.add(1, ordering: .relaxed)
            }
        }
        _ = eventually(seconds: 10) { calls.installed.load(ordering: .relaxed) == proxy.runtime.workers.count }
    }

    @Test(arguments: [ENOBUFS, ENOMEM, EMFILE])
    func anAcceptShortagePausesTheListenerInsteadOfSpinningAndAcceptingResumesAfter(_ code: Int32) throws {
        let echo = try TestServer.echo()
        defer { echo.stop() }
        let proxy = try ProxyHarness(ProxyConfiguration(listeners: [staticListener(servers: [echo.port])]))
        defer { proxy.stop() }
        let calls = Calls()
        install(proxy, "raw", calls: calls) { _ throws(IOError) in
            calls.count.add(1, ordering: .relaxed)
            throw IOError(errno: code, call: "accept4")
        }
        let client = try TestSocket.connect(port: proxy.port("raw"))
        defer { close(client) }
        #expect(eventually { calls.count.load(ordering: .relaxed) > 0 })

        // Over half a second a spinning loop calls accept thousands of times; a backoff of 100 ms
        // doubling calls it a handful of times (also once per session ending, and none end here).
        let before = calls.count.load(ordering: .relaxed)
        usleep(500_000)
        let during = calls.count.load(ordering: .relaxed) - before
        #expect(during <= 20, "accept called \(during) times in 0.5 s")

        install(proxy, "raw", calls: calls) { fd throws(IOError) in try Socket.accept(fd) }
        try TestSocket.writeAll(client, [7])
        #expect(try TestSocket.readExactly(client, 1) == [7])
    }
}
}
