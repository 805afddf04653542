import PosixIO
import SwitchmanCore

/// How a pump moves bytes right now.
enum PumpMode {
    /// read(2) into a pooled buffer, write(2) out of it: fewest calls for small messages.
    case copy
    /// splice(2) through a pooled pipe: no copy through user space, for bulk transfers.
    case splice
}

/// What one call to ``Pump/transfer(from:to:readable:writable:hangup:pools:now:)`` achieved.
struct PumpProgress {
    /// Bytes read from the source.
    var read = 0
    /// Bytes written to the destination.
    var written = 0
    /// The pump stopped with work left (its per-call budget ran out): call it again soon.
    var yielded = false
}

/// The pools a pump borrows from: the buffers and pipes of its event loop, for one configuration.
///
/// A reload that changes `buffer_size`, `pipe_size` or `pipe_pool_size` makes new pools for new
/// sessions; a live session keeps the pools it started with (as it keeps its timeouts), so its
/// pumps fill a buffer only up to that pool's size and give it back there. Loop-confined.
final class PumpPools {
    let buffers: BufferPool
    let pipes: PipePool

    init(buffers: BufferPool, pipes: PipePool) {
        self.buffers = buffers
        self.pipes = pipes
    }

    /// Buffers or pipes lent out and not yet returned.
    var lentOut: Bool { buffers.inUse > 0 || pipes.inUse > 0 }

    /// Replaced by a reload: keep nothing for reuse; what comes back from here on is freed.
    func retire() {
        buffers.retire()
        pipes.retire()
    }
}

/// One direction of a session, source → destination, with the half-close rule: after end of file
/// from the source, everything read is written, then the destination's writing half is shut down.
///
/// One exception, for a plain PostgreSQL client's direction (``watchForTerminate()``): when its last
/// bytes were a Terminate message, the half-close waits (``awaitsPeerClose``), because the server
/// closes by itself on Terminate. Whichever side sends the first FIN keeps the connection's
/// TIME_WAIT; it is then the server's, on its listening port, and not the proxy's, on one of the
/// ephemeral ports it needs for new connections to that server.
///
/// The session owns the sockets; the pump owns only the buffer or pipe it holds while bytes are in
/// flight, and gives it back to the pool as soon as it is empty. A pump always borrows from the same
/// pools (its session's).
struct Pump {
    // Stored properties run from 8-byte to 1-byte ones so the struct has no padding holes: there are
    // two pumps in every session, idle ones included. Offsets and counts within one buffer or pipe
    // are 32-bit (a buffer is at most 64 MiB, a pipe at most 1 GiB: the configuration's limits),
    // which keeps a pump at 53 bytes instead of 72 (its end-of-stream flags share one byte).
    /// Bytes written to the destination so far.
    private(set) var bytesTransferred: UInt64 = 0
    private var buffer: UnsafeMutableRawPointer?
    private var bufferStart: Int32 = 0
    private var bufferEnd: Int32 = 0
    private var pipeBytes: Int32 = 0
    // `auto` mode: a moving average of the bytes each successful read or splice took (α = 1/8).
    // Bulk transfers read kilobytes at a time, request/response protocols a few hundred bytes.
    private var averageRead: Int32 = 0
    private var pipe: Pipe?
    private(set) var mode: PumpMode
    private let spliceSetting: SpliceMode
    /// End of file was read from the source.
    var sourceClosed: Bool { ends.contains(.sourceClosed) }
    /// The destination's writing half was shut down: this direction is finished.
    var finished: Bool { ends.contains(.finished) }
    /// The errno of a failed read-ahead, raised once the held bytes are written (0: none; every
    /// Linux errno fits a byte, and a byte fits the struct's tail).
    private var readAheadErrno: UInt8 = 0
    /// How the stream ends, one byte for four flags (the pump's tail has room for one byte only).
    private var ends: Ends = []

    /// Average read size at which `auto` switches a direction to splice.
    static let spliceAbove = 8 * 1024
    /// Average read size under which `auto` switches a direction back to read/write.
    static let copyBelow = 1024

    /// Reads per call before the pump yields to other sessions on the loop.
    private static let roundsPerCall = 16

    init(splice: SpliceMode) {
        spliceSetting = splice
        mode = splice == .on ? .splice : .copy
    }

    /// Counts bytes moved for this direction by someone else (the start-up sniffing, before the pump
    /// takes over), so the session's totals cover the whole connection.
    mutating func countTransferred(_ bytes: Int) { bytesTransferred &+= UInt64(bytes) }

    /// Bytes read and not yet written.
    var pendingBytes: Int { Int(bufferEnd - bufferStart) + Int(pipeBytes) }

    /// From now on, a Terminate message ('X', length 4) as the source's last bytes puts off the
    /// half-close (``awaitsPeerClose``). For a plain PostgreSQL client's direction only: in any other
    /// stream those five bytes mean nothing. It is a look at the last five bytes read, not a parse:
    /// a message that happens to end so (CopyData, say) puts the half-close off too, until the
    /// session's wait ends; a Terminate whose first bytes were written before the rest came, or one
    /// that went through the pipe (splice), is not seen, and the half-close follows at once as it
    /// would without the watch.
    mutating func watchForTerminate() {
        ends.insert(.watchesTerminate)
    }

    /// The source ended right after a Terminate, everything is written, and the destination's
    /// half-close is put off: the server is expected to close first. The session ends the wait with
    /// ``finishWaitForPeer(shuttingDown:)`` when the other direction ends, or when the wait lasted
    /// too long.
    var awaitsPeerClose: Bool { ends.contains([.sourceClosed, .sawTerminate]) && !ends.contains(.finished) && pendingBytes == 0 }

    /// Ends a half-close put off by ``awaitsPeerClose``: shuts `destination`'s writing half down
    /// (nil when the session closes both sockets in this turn of the loop anyway).
    mutating func finishWaitForPeer(shuttingDown destination: Int32?) {
        guard awaitsPeerClose else { return }
        if let destination { Socket.shutdownWrite(destination) }
        ends.insert(.finished)
    }

    /// Moves as much as readiness allows. `readable`/`writable` are the session's readiness latches for
    /// the source and destination: cleared here when a call would block, set by epoll events.
    /// `hangup` means the source reported EPOLLRDHUP/EPOLLHUP, so a short read does not prove it empty.
    /// `otherFinished`: the opposite direction is done (or waits for this one's end: ``awaitsPeerClose``),
    /// so the session closes both sockets as soon as this one is done too; the final half-close would
    /// be a wasted call and is skipped. The caller must then close in the same turn of the loop: bytes
    /// sent with MSG_MORE wait for that close's FIN.
    mutating func transfer(from source: Int32, to destination: Int32, readable: inout Bool, writable: inout Bool,
                           hangup: Bool, otherFinished: Bool = false, pools: PumpPools, now: UInt64) throws(IOError) -> PumpProgress {
        var progress = PumpProgress()
        var rounds = 0
        while true {
            // 1. Flush what is held.
            if pendingBytes > 0 {
                guard writable else { break }
                // A source that hung up has its FIN queued behind the data, so the next read is
                // usually its end of file. Reading that first lets the held bytes and the half-close
                // leave in one segment (send with MSG_MORE, then shutdown) instead of two. Read/write
                // path only: bulk through a pipe gains nothing from one segment less.
                if hangup && readable && !sourceClosed && readAheadErrno == 0 && rounds < Self.roundsPerCall,
                   hasReadAheadRoom(pools) {
                    rounds += 1
                    let n: Int
                    do {
                        // After the held bytes, without choosing a mode (bytes are held, see ``fill``); the
                        // source hung up, so a short read leaves the latch set.
                        n = try readIntoBuffer(from: source, readable: &readable, hangup: true, pools: pools)
                    } catch {
                        // Raised once everything held is written, as in the plain order (write, then read).
                        readAheadErrno = UInt8(clamping: error.errno)
                        continue
                    }
                    if n == 0 { ends.insert(.sourceClosed) } else if n > 0 { progress.read += n }
                    continue
                }
                // MSG_MORE only when the FIN follows at once: a half-close put off after a Terminate
                // would leave the Terminate corked until the next probe (200 ms or more).
                let closeFollows = sourceClosed && (otherFinished || !ends.contains(.sawTerminate))
                let flushed = try flush(to: destination, writable: &writable, beforeClose: closeFollows)
                progress.written += flushed
                if pendingBytes > 0 { break }  // destination full: wait for EPOLLOUT
            }
            if readAheadErrno != 0 { throw IOError(errno: Int32(readAheadErrno), call: "read") }
            // 2. Half-close once the source ended and everything is written (put off after a
            // watched Terminate while the other direction still runs: awaitsPeerClose).
            if sourceClosed {
                if !finished && (otherFinished || !ends.contains(.sawTerminate)) {
                    if !otherFinished { Socket.shutdownWrite(destination) }
                    ends.insert(.finished)
                }
                break
            }
            guard readable else { break }
            if rounds == Self.roundsPerCall {
                progress.yielded = true
                break
            }
            rounds += 1
            // 3. Read more.
            let n = try fill(from: source, readable: &readable, hangup: hangup, pools: pools, now: now)
            if n < 0 { break }  // would block (latch cleared) or pipe full with the destination blocked
            if n == 0 {
                ends.insert(.sourceClosed)
                continue
            }
            progress.read += n
        }
        releaseIfEmpty(pools: pools)
        return progress
    }

    /// Reads the source's first bytes into the read/write buffer, where the start-up sniffing judges
    /// them in place (``withHeldBytes(_:)``) and then leaves them for this pump to send or takes them
    /// (``takeHeld(pools:)``). Only while nothing is held. Returns bytes read, 0 at end of file, -1
    /// when nothing could be read (latch cleared); a short read clears the latch unless the source
    /// hung up, as ``fill`` does.
    mutating func readFirst(from source: Int32, readable: inout Bool, hangup: Bool, pools: PumpPools) throws(IOError) -> Int {
        precondition(pendingBytes == 0, "first bytes read behind held ones")
        defer { releaseIfEmpty(pools: pools) }  // nothing read: the buffer goes back at once
        return try readIntoBuffer(from: source, readable: &readable, hangup: hangup, pools: pools)
    }

    /// Calls `body` with the bytes read and not yet written (read/write buffer only).
    func withHeldBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard let buffer else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return body(UnsafeRawBufferPointer(start: buffer + Int(bufferStart), count: Int(bufferEnd - bufferStart)))
    }

    /// Takes the held bytes out of the read/write buffer (given back to the pool).
    mutating func takeHeld(pools: PumpPools) -> [UInt8] {
        let bytes = withHeldBytes { Array($0) }
        bufferStart = 0
        bufferEnd = 0
        releaseIfEmpty(pools: pools)
        return bytes
    }

    /// Gives back the buffer or pipe (session end). A pipe that still holds bytes is closed, not pooled.
    mutating func releaseAll(pools: PumpPools) {
        if let buffer { pools.buffers.release(buffer) }
        if let pipe { pools.pipes.release(pipe, empty: pipeBytes == 0) }
        buffer = nil
        pipe = nil
        bufferStart = 0
        bufferEnd = 0
        pipeBytes = 0
    }

    // MARK: - Private

    /// Reads once into the buffer or pipe. Returns bytes read, 0 at end of file, -1 when nothing could be read.
    private mutating func fill(from source: Int32, readable: inout Bool, hangup: Bool, pools: PumpPools, now: UInt64) throws(IOError) -> Int {
        // Nothing is held when fill runs (transfer flushes first), so the mode may change here
        // without reordering a byte; under bulk load this is the only moment it is empty.
        switch spliceSetting {
        case .auto: chooseMode()
        case .on: mode = .splice  // a pipe refused earlier may be granted now (the pool rate-limits retries)
        case .off: break
        }
        if mode == .splice && pipe == nil {
            if let fresh = pools.pipes.acquire(now: now) {
                pipe = fresh
            } else {
                mode = .copy  // pool exhausted or pipes refused: read/write still works
            }
        }
        switch mode {
        case .splice:
            // The pipe is present: acquired above or kept since an earlier call.
            let pipe = self.pipe!
            let room = pipe.capacity - Int(pipeBytes)
            switch try Pipe.splice(from: source, to: pipe.writeFD, count: room, more: false) {
            case .wouldBlock:
                // Ambiguous: the socket is empty, or the pipe has no free slot. Only an empty pipe proves the former.
                if pipeBytes == 0 { readable = false }
                return -1
            case .processed(let n):
                pipeBytes += Int32(n)
                if n > 0 { ends.remove(.sawTerminate) }  // not looked at through the pipe
                if spliceSetting == .auto && n > 0 { averageRead += (Int32(n) - averageRead) / 8 }
                return n
            }
        case .copy:
            let n = try readIntoBuffer(from: source, readable: &readable, hangup: hangup, pools: pools)
            if spliceSetting == .auto && n > 0 { averageRead += (Int32(n) - averageRead) / 8 }
            return n
        }
    }

    /// Reads once into the read/write buffer (acquired if absent), after what it holds. Returns bytes
    /// read, 0 at end of file, -1 when nothing could be read.
    @inline(__always)  // `fill` runs for every read: the call cost ~470 instructions a connection (callgrind)
    private mutating func readIntoBuffer(from source: Int32, readable: inout Bool, hangup: Bool, pools: PumpPools) throws(IOError) -> Int {
        if buffer == nil {
            buffer = pools.buffers.acquire()
            bufferStart = 0
            bufferEnd = 0
        }
        let capacity = pools.buffers.bufferSize
        // The buffer is present: acquired just above or kept with pending bytes.
        switch try Socket.read(source, into: buffer! + Int(bufferEnd), count: capacity - Int(bufferEnd)) {
        case .wouldBlock:
            readable = false
            return -1
        case .processed(let n):
            bufferEnd += Int32(n)
            if n > 0 { noteTerminate() }
            // A short read on a stream socket took all that was queued; edge-triggered epoll reports
            // the next arrival. Not after a hang-up, where EOF may follow the data without a new edge.
            if n > 0 && n < capacity && !hangup { readable = false }
            return n
        }
    }

    /// The read/write buffer holds bytes and has room after them (never on the pipe path).
    private func hasReadAheadRoom(_ pools: PumpPools) -> Bool {
        mode == .copy && buffer != nil && Int(bufferEnd) < pools.buffers.bufferSize
    }

    /// Writes held bytes. Returns bytes written. `beforeClose`: a half-close (or the session's close)
    /// follows these bytes at once and may share their last segment (MSG_MORE); only
    /// the read/write path reads ahead, so only its bytes are ever held then.
    private mutating func flush(to destination: Int32, writable: inout Bool, beforeClose: Bool) throws(IOError) -> Int {
        if let buffer, bufferEnd > bufferStart {
            let want = Int(bufferEnd - bufferStart)
            let result = beforeClose
                ? try Socket.sendBeforeClose(destination, from: buffer + Int(bufferStart), count: want)
                : try Socket.write(destination, from: buffer + Int(bufferStart), count: want)
            switch result {
            case .wouldBlock:
                writable = false
                return 0
            case .processed(let n):
                bufferStart += Int32(n)
                bytesTransferred += UInt64(n)
                if n < want { writable = false }
                if bufferStart == bufferEnd {
                    bufferStart = 0
                    bufferEnd = 0
                }
                return n
            }
        }
        if let pipe, pipeBytes > 0 {
            switch try Pipe.splice(from: pipe.readFD, to: destination, count: Int(pipeBytes), more: false) {
            case .wouldBlock:
                writable = false
                return 0
            case .processed(let n):
                pipeBytes -= Int32(n)
                bytesTransferred += UInt64(n)
                if pipeBytes > 0 { writable = false }
                return n
            }
        }
        return 0
    }

    private mutating func releaseIfEmpty(pools: PumpPools) {
        if let buffer, bufferStart == bufferEnd {
            pools.buffers.release(buffer)
            self.buffer = nil
            bufferStart = 0
            bufferEnd = 0
        }
        if let pipe, pipeBytes == 0 {
            pools.pipes.release(pipe, empty: true)
            self.pipe = nil
        }
    }

    /// After a read into the buffer, when this direction watches: notes whether the stream's last
    /// bytes so far (the buffer's, up to `bufferEnd`) are a Terminate, 'X' then the length 4.
    @inline(__always)
    private mutating func noteTerminate() {
        guard ends.contains(.watchesTerminate), let buffer else { return }
        var seen = false
        if bufferEnd >= 5 {
            let tail = buffer + (Int(bufferEnd) - 5)
            seen = tail.load(as: UInt8.self) == UInt8(ascii: "X")
                && tail.loadUnaligned(fromByteOffset: 1, as: UInt32.self) == UInt32(4).bigEndian
        }
        if seen { ends.insert(.sawTerminate) } else { ends.remove(.sawTerminate) }
    }

    /// How a pump's stream ends.
    private struct Ends: OptionSet {
        let rawValue: UInt8
        /// End of file was read from the source.
        static let sourceClosed = Ends(rawValue: 1 << 0)
        /// The destination's writing half was shut down (or the session closes both sockets).
        static let finished = Ends(rawValue: 1 << 1)
        /// A plain PostgreSQL client's direction: a Terminate as its last bytes puts off the half-close.
        static let watchesTerminate = Ends(rawValue: 1 << 2)
        /// Watching, and the last bytes read were a Terminate (so, once written, the last written).
        static let sawTerminate = Ends(rawValue: 1 << 3)
    }

    private mutating func chooseMode() {
        if mode == .copy && Int(averageRead) >= Self.spliceAbove {
            mode = .splice
        } else if mode == .splice && Int(averageRead) < Self.copyBelow {
            mode = .copy
        }
    }
}
