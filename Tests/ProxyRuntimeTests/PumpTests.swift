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
            pools: pools, now: Clock.monotonicNanoseconds())
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
        let refusing = pools(pipes: 0)
        #expect(try bench.move(patternBytes(1000), through: &pump, pools: refusing) == patternBytes(1000))
        #expect(pump.mode == .copy)
        let granting = pools(pipes: 4)
        #expect(try bench.move(patternBytes(2000, seed: 3), through: &pump, pools: granting) == patternBytes(2000, seed: 3))
        #expect(pump.mode == .splice)
        pump.releaseAll()
        #expect(!refusing.lentOut && !granting.lentOut)
    }

    @Test func aPumpGivesItsEmptiedLoanBackToThePoolsItBorrowedFrom() throws {
        let bench = PumpBench()
        var pump = Pump(splice: .off)
        let old = pools(pipes: 0)
        // Fill the output until the pump must keep bytes in its buffer.
        var sndbuf: Int32 = 4096
        setsockopt(bench.output.pumpSide, SOL_SOCKET, SO_SNDBUF, &sndbuf, 4)
        let payload = patternBytes(512 * 1024, seed: 11)
        try TestSocket.writeAll(bench.input.writer, Array(payload[0..<(64 * 1024)]))
        var readable = true
        var writable = true
        _ = try pump.transfer(
            from: bench.input.pumpSide, to: bench.output.pumpSide, readable: &readable, writable: &writable,
            hangup: false, pools: old, now: 0)
        #expect(pump.pendingBytes > 0)
        #expect(pump.holdsLoan(from: old))
        // A reload replaced the pools; draining the output lets the pump empty its old buffer.
        let new = pools(pipes: 0)
        var received: [UInt8] = []
        var rounds = 0
        while received.count < 64 * 1024 && rounds < 10_000 {
            rounds += 1
            received += try TestSocket.readExactly(bench.output.reader, min(4096, 64 * 1024 - received.count))
            readable = true
            writable = true
            _ = try pump.transfer(
                from: bench.input.pumpSide, to: bench.output.pumpSide, readable: &readable, writable: &writable,
                hangup: false, pools: new, now: 0)
        }
        #expect(received == Array(payload[0..<(64 * 1024)]))
        #expect(old.buffers.inUse == 0)
        #expect(!pump.holdsLoan(from: old))
        pump.releaseAll()
        #expect(new.buffers.inUse == 0)
    }
}
