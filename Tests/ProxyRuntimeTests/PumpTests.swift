import Glibc
import PosixIO
import SwitchmanCore
import Testing
@testable import ProxyRuntime

/// A pump between two socketpairs, driven by hand: bytes written to `input` arrive at `output`.
private struct PumpBench: ~Copyable {
    let input: (writer: Int32, pumpSide: Int32)
    let output: (pumpSide: Int32, reader: Int32)

    init() {
        var a: [Int32] = [0, 0]
        var b: [Int32] = [0, 0]
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &a)
        socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &b)
        for fd in [a[1], b[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        input = (a[0], a[1])
        output = (b[0], b[1])
    }

    deinit {
        for fd in [input.writer, input.pumpSide, output.pumpSide, output.reader] { Glibc.close(fd) }
    }

    /// Writes `bytes` to the input, runs one transfer, and returns what reached the output.
    func move(_ bytes: [UInt8], through pump: inout Pump, pools: PumpPools) throws -> [UInt8] {
        try TestSocket.writeAll(input.writer, bytes)
        var readable = true
        var writable = true
        _ = try pump.transfer(
            from: input.pumpSide, to: output.pumpSide, readable: &readable, writable: &writable, hangup: false,
            pools: pools, now: SystemClock.monotonicNanoseconds())
        return try TestSocket.readExactly(output.reader, bytes.count)
    }
}

private func pools(pipes: Int) -> PumpPools {
    PumpPools(buffers: BufferPool(bufferSize: 16 * 1024, keep: 4), pipes: PipePool(pipeSize: 64 * 1024, limit: pipes))
}

struct PumpTests {
    @Test func spliceOnReturnsToSpliceWhenAPipeIsGrantedAfterARefusal() throws {
        let bench = PumpBench()
        var pump = Pump(splice: .on)
        let pools = pools(pipes: 1)
        // Another pump holds the pool's only pipe: this one has to copy.
        let taken = try #require(pools.pipes.acquire(now: 0))
        #expect(try bench.move(patternBytes(1000), through: &pump, pools: pools) == patternBytes(1000))
        #expect(pump.mode == .copy)
        pools.pipes.release(taken, empty: true)
        #expect(try bench.move(patternBytes(2000, seed: 3), through: &pump, pools: pools) == patternBytes(2000, seed: 3))
        #expect(pump.mode == .splice)
        pump.releaseAll(pools: pools)
        #expect(!pools.lentOut)
    }
}
