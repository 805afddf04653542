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

    /// Writes `bytes` and the input's end of file, runs one transfer, and returns what reached the
    /// output and whether its end of file did too.
    func moveAndEnd(_ bytes: [UInt8], through pump: inout Pump, pools: PumpPools) throws -> (bytes: [UInt8], halfClosed: Bool) {
        try TestSocket.writeAll(input.writer, bytes)
        shutdown(input.writer, Int32(SHUT_WR))
        var readable = true
        var writable = true
        _ = try pump.transfer(
            from: input.pumpSide, to: output.pumpSide, readable: &readable, writable: &writable, hangup: true,
            pools: pools, now: SystemClock.monotonicNanoseconds())
        return (try TestSocket.readExactly(output.reader, bytes.count), outputHalfClosed())
    }

    /// The output's end of file has arrived (a read that does not wait returns 0, not EAGAIN).
    func outputHalfClosed() -> Bool {
        var byte: UInt8 = 0
        return recv(output.reader, &byte, 1, Int32(MSG_DONTWAIT)) == 0
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

    static let terminate = Wire.message("X", [])

    @Test func aWatchingPumpPutsOffTheHalfCloseAfterATerminateUntilTheSessionEndsTheWait() throws {
        let bench = PumpBench()
        var pump = Pump(splice: .off)
        pump.watchForTerminate()
        let pools = pools(pipes: 0)
        let query = Wire.message("Q", Array("select 1".utf8) + [0])
        #expect(try bench.move(query, through: &pump, pools: pools) == query)
        let (bytes, halfClosed) = try bench.moveAndEnd(Self.terminate, through: &pump, pools: pools)
        #expect(bytes == Self.terminate)
        #expect(!halfClosed)
        #expect(pump.awaitsPeerClose && !pump.finished)
        pump.finishWaitForPeer(shuttingDown: bench.output.pumpSide)
        #expect(pump.finished && !pump.awaitsPeerClose)
        #expect(try TestSocket.readToEnd(bench.output.reader).isEmpty)  // end of file, nothing more
        pump.releaseAll(pools: pools)
    }

    @Test func aTerminateHalfClosesAtOnceWhenThePumpDoesNotWatchOrMoreBytesFollowIt() throws {
        let pools = pools(pipes: 0)
        for (watching, bytes) in [(false, Self.terminate), (true, Self.terminate + [1, 2, 3]), (true, Array(Self.terminate.prefix(4)))] {
            let bench = PumpBench()
            var pump = Pump(splice: .off)
            if watching { pump.watchForTerminate() }
            let moved = try bench.moveAndEnd(bytes, through: &pump, pools: pools)
            #expect(moved.bytes == bytes)
            #expect(moved.halfClosed, "watching \(watching), \(bytes)")
            #expect(pump.finished && !pump.awaitsPeerClose)
            pump.releaseAll(pools: pools)
        }
    }
}

/// A connected TCP pair on 127.0.0.1: `(near, far)`, `near` non-blocking. `smallBuffers` shrinks
/// the far socket's receive buffer and the near one's send buffer (set before connecting, so the
/// window is small from the start) to make the near side fill up after a few kilobytes.
private func tcpPair(smallBuffers: Bool = false) throws -> (near: Int32, far: Int32) {
    let (listener, port) = try TestSocket.listen()
    defer { close(listener) }
    var small: Int32 = 4096
    if smallBuffers { setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size)) }
    let near = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if smallBuffers { setsockopt(near, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size)) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(near, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0 else { throw IOError(errno: errno, call: "connect") }
    let far = accept(listener, nil, nil)
    guard far >= 0 else { throw IOError(errno: errno, call: "accept") }
    _ = fcntl(near, F_SETFL, fcntl(near, F_GETFL) | O_NONBLOCK)
    TestSocket.setTimeouts(far, seconds: 10)
    return (near, far)
}

/// Bytes queued for reading on `fd` (FIONREAD).
private func queuedBytes(_ fd: Int32) -> Int32 {
    var count: Int32 = 0
    _ = ioctl(fd, UInt(FIONREAD), &count)
    return count
}

/// Moves what is queued on `fd` now (at most 4 KiB, without waiting) onto `received`.
private func receiveQueued(_ fd: Int32, into received: inout [UInt8]) {
    var chunk = [UInt8](repeating: 0, count: 4096)
    let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
    if n > 0 { received += chunk[0..<n] }
}

/// Waits until `fd`'s peer has hung up (POLLRDHUP), so the pump's first read-ahead finds the end.
private func peerHungUp(_ fd: Int32) -> Bool {
    var hungUp = pollfd(fd: fd, events: Int16(0x2000) /* POLLRDHUP */, revents: 0)
    return poll(&hungUp, 1, 10_000) == 1
}

/// Runs `step` until `done` holds, at most 5 s (1 ms apart, so the kernel may move bytes between).
private func untilDone(_ done: () -> Bool, _ step: () throws -> Void) rethrows {
    let deadline = SystemClock.monotonicNanoseconds() + 5_000_000_000
    while !done() && SystemClock.monotonicNanoseconds() < deadline {
        try step()
        if !done() { usleep(1000) }
    }
}

/// Expects `received` to be `bytes`, comparing into a Bool first so a failure prints the counts,
/// not tens of kilobytes.
private func expectIntact(_ received: [UInt8], _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    let intact = received == bytes
    #expect(intact, "received \(received.count) of \(bytes.count) bytes", sourceLocation: sourceLocation)
}

/// Sends `bytes` and a FIN from `source.far`, waits until `source.near` sees the hang-up, and makes
/// the hand-driven pump from `source.near` to `destination.near`.
private func hungUpTransfer(
    sending bytes: [UInt8], source: (near: Int32, far: Int32), destination: (near: Int32, far: Int32)
) throws -> HungUpTransfer {
    try TestSocket.writeAll(source.far, bytes)
    shutdown(source.far, Int32(SHUT_WR))
    try #require(peerHungUp(source.near))
    return HungUpTransfer(from: source.near, to: destination.near)
}

/// A read/write pump driven by hand as a session drives it once its source hung up (EPOLLRDHUP).
private final class HungUpTransfer {
    var pump = Pump(splice: .off)
    /// 64 KiB buffers: room to read ahead after tens of kilobytes, more than a small destination takes.
    let pumpPools = PumpPools(buffers: BufferPool(bufferSize: 64 * 1024, keep: 2), pipes: PipePool(pipeSize: 64 * 1024, limit: 0))
    var readable = true
    let source: Int32
    let destination: Int32

    init(from source: Int32, to destination: Int32) {
        self.source = source
        self.destination = destination
    }

    /// One transfer with the destination writable (as after EPOLLOUT).
    @discardableResult
    func run() throws(IOError) -> PumpProgress {
        var writable = true
        return try pump.transfer(
            from: source, to: destination, readable: &readable, writable: &writable, hangup: true,
            pools: pumpPools, now: SystemClock.monotonicNanoseconds())
    }

    deinit { pump.releaseAll(pools: pumpPools) }
}

extension SocketTests {
    /// The pump with a source that hung up (EPOLLRDHUP), over real TCP sockets: the read-ahead of its
    /// end of file before the held bytes are written.
    @Suite(.serialized)
    struct HungUpSourcePumpTests {
        @Test
        func aHungUpSourcesBytesAndEndOfFileGoOutInOneTransferThenTheHalfClose() throws {
            let source = try tcpPair()
            let destination = try tcpPair()
            defer { [source.near, source.far, destination.near, destination.far].forEach { close($0) } }
            let bytes = patternBytes(3000)
            let transfer = try hungUpTransfer(sending: bytes, source: source, destination: destination)
            let progress = try transfer.run()
            #expect(progress.read == bytes.count && progress.written == bytes.count)
            #expect(transfer.pump.sourceClosed && transfer.pump.finished)
            let received = try TestSocket.readToEnd(destination.far)
            expectIntact(received, bytes)
        }

        @Test
        func aTerminateWhoseHalfCloseIsPutOffLeavesAtOnceNotCorkedForAFinThatDoesNotFollow() throws {
            let source = try tcpPair()
            let destination = try tcpPair()
            defer { [source.near, source.far, destination.near, destination.far].forEach { close($0) } }
            let terminate = Wire.message("X", [])
            let transfer = try hungUpTransfer(sending: terminate, source: source, destination: destination)
            transfer.pump.watchForTerminate()
            try transfer.run()
            #expect(transfer.pump.awaitsPeerClose)
            // Sent with MSG_MORE, the five bytes would wait for the next probe (200 ms or more), since
            // no FIN comes to push them: sent plainly, they are queued on loopback before send returns.
            var ready = pollfd(fd: destination.far, events: Int16(POLLIN), revents: 0)
            #expect(poll(&ready, 1, 50) == 1, "the Terminate is held back")
            #expect(try TestSocket.readExactly(destination.far, terminate.count) == terminate)
        }

        @Test
        func aHungUpSourcesBytesAllReachAFullDestinationBeforeTheHalfClose() throws {
            let source = try tcpPair()
            let destination = try tcpPair(smallBuffers: true)
            defer { [source.near, source.far, destination.near, destination.far].forEach { close($0) } }
            // Less than the pump's 64 KiB buffer (so it reads ahead), far more than the destination's
            // few kilobytes of buffers take at once.
            let bytes = patternBytes(48_000, seed: 5)
            let transfer = try hungUpTransfer(sending: bytes, source: source, destination: destination)
            try transfer.run()
            try #require(transfer.pump.pendingBytes > 0, "the destination took everything at once: nothing here is tested")
            #expect(!transfer.pump.finished)
            var received: [UInt8] = []
            try untilDone({ transfer.pump.finished }) {
                receiveQueued(destination.far, into: &received)
                try transfer.run()
            }
            #expect(transfer.pump.finished)
            received += try TestSocket.readToEnd(destination.far)
            expectIntact(received, bytes)
        }

        @Test
        func aResetAfterTheBytesEndsTheTransferOnlyOnceEveryHeldByteReachedAFullDestination() throws {
            let source = try tcpPair()
            let destination = try tcpPair(smallBuffers: true)
            defer { [source.near, destination.near, destination.far].forEach { close($0) } }
            let bytes = patternBytes(48_000, seed: 9)
            try TestSocket.writeAll(source.far, bytes)
            #expect(eventually { queuedBytes(source.near) == Int32(bytes.count) })
            // Close with linger 0: the source's peer resets the connection after its bytes.
            var linger = linger(l_onoff: 1, l_linger: 0)
            setsockopt(source.far, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            close(source.far)
            try #require(peerHungUp(source.near))

            let transfer = HungUpTransfer(from: source.near, to: destination.near)
            var thrown: IOError?
            do {
                try transfer.run()
            } catch {
                thrown = error
            }
            // The first transfer read the bytes, met the reset reading ahead, and filled the destination.
            try #require(transfer.pump.pendingBytes > 0, "the destination took everything at once: nothing here is tested")
            #expect(thrown == nil, "the reset ended the transfer with bytes still held")
            var received: [UInt8] = []
            untilDone({ thrown != nil }) {
                receiveQueued(destination.far, into: &received)
                do throws(IOError) {
                    try transfer.run()
                } catch {
                    thrown = error
                }
            }
            #expect(thrown?.errno == ECONNRESET)
            shutdown(destination.near, Int32(SHUT_WR))
            received += try TestSocket.readToEnd(destination.far)
            expectIntact(received, bytes)
        }
    }
}
