import Glibc
import PosixIO
import Reactor
import Synchronization
import Testing

/// The resolver answers every caller on its loop: merged, bounded, and one slow name holds up no other.
struct AddressResolverTests {
    private static let address = SocketAddress(literal: "127.0.0.1", port: 5432)!

    /// Runs `body` with a started one-loop group and collects the answers it gets, by tag.
    private func withLoop(_ body: (EventLoop, @escaping @Sendable (String, Result<[SocketAddress], ResolutionError>) -> Void) -> Void,
                          expecting count: Int, within seconds: Double) throws -> [(String, Result<[SocketAddress], ResolutionError>, Double)] {
        let group = try EventLoopGroup(count: 1)
        group.start()
        defer { group.stop() }
        let start = SystemClock.monotonicNanoseconds()
        let answers = Mutex<[(String, Result<[SocketAddress], ResolutionError>, Double)]>([])
        body(group.loops[0]) { tag, result in
            answers.withLock { $0.append((tag, result, Double(SystemClock.monotonicNanoseconds() - start) / 1e9)) }
        }
        let deadline = start + UInt64(seconds * 1e9)
        while answers.withLock({ $0.count }) < count && SystemClock.monotonicNanoseconds() < deadline { usleep(5_000) }
        return answers.withLock { $0 }
    }

    @Test func concurrentLookupsOfOneNameShareOneCall() throws {
        let calls = Atomic<Int>(0)
        let resolver = AddressResolver { _, _ in
            calls.add(1, ordering: .relaxed)
            usleep(200_000)
            return .success([Self.address])
        }
        let answers = try withLoop({ loop, record in
            for index in 0..<10 {
                resolver.resolve(host: "db.test", port: 5432, on: loop) { record("\(index)", $0) }
            }
        }, expecting: 10, within: 10)
        #expect(answers.count == 10)
        #expect(answers.allSatisfy { (try? $0.1.get()) == [Self.address] })
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func aLookupThatNeverReturnsAnswersItsCallersAtTheDeadline() throws {
        let release = Atomic<Bool>(false)
        let resolver = AddressResolver(deadline: .milliseconds(300)) { _, _ in
            while !release.load(ordering: .relaxed) { usleep(10_000) }
            return .success([Self.address])
        }
        defer { release.store(true, ordering: .relaxed) }
        let answers = try withLoop({ loop, record in
            resolver.resolve(host: "stuck.test", port: 5432, on: loop) { record("stuck", $0) }
        }, expecting: 1, within: 10)
        let answer = try #require(answers.first)
        guard case .failure(let error) = answer.1 else {
            Issue.record("a lookup that never returned gave an answer")
            return
        }
        #expect(error.message.hasPrefix("no answer within"))
        #expect(answer.2 < 5, "the deadline was 0.3 s")
    }

    @Test func aSlowNameDoesNotHoldUpAnother() throws {
        let release = Atomic<Bool>(false)
        let resolver = AddressResolver(threads: 2, deadline: .seconds(30)) { host, _ in
            if host == "slow.test" { while !release.load(ordering: .relaxed) { usleep(10_000) } }
            return .success([Self.address])
        }
        defer { release.store(true, ordering: .relaxed) }
        let answers = try withLoop({ loop, record in
            resolver.resolve(host: "slow.test", port: 5432, on: loop) { record("slow", $0) }
            resolver.resolve(host: "fast.test", port: 5432, on: loop) { record("fast", $0) }
        }, expecting: 1, within: 10)
        #expect(answers.map(\.0) == ["fast"])
    }
}
