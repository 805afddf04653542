import CLibPQ
import Foundation
import Testing

/// The core issue's end-to-end check: real queries and a 100 MB COPY in and out of a real PostgreSQL 15
/// through the Switchman binary (static listener), byte for byte.
@Suite(.serialized)
struct PostgresThroughSwitchmanTests {
    @Test func queriesAndA100MBCopyArriveByteForByte() throws {
        let fixture = try SinglePostgresFixture.shared()
        let ports = try freeLoopbackPorts(2)
        let proxy = try StaticSwitchman(configuration: """
            threads: 2
            log_sessions: false
            listeners:
              - { name: raw, bind: "127.0.0.1:\(ports[0])", role: static, servers: ["127.0.0.1:\(fixture.port)"] }
            stats: { bind: "127.0.0.1:\(ports[1])" }
            """)
        defer { proxy.stop() }
        let port = try proxy.waitForListener("raw")
        let connection = try CopyConnection(port: port, password: fixture.password)
        defer { connection.close() }

        #expect(try connection.scalar("select 40 + 2") == "42")
        #expect(try connection.scalar("select current_setting('server_version_num')::int / 10000") == "15")
        try connection.execute("drop table if exists copy_check")
        try connection.execute("create table copy_check (id bigint, payload text)")

        // ~100 MB of rows, generated deterministically; the checksum covers the exact COPY text.
        let rows = 410_000
        let letters = Self.letters
        var sentHash = Hasher64()
        var sentBytes = 0
        try connection.copyIn("copy copy_check from stdin") { put in
            var chunk = [UInt8]()
            chunk.reserveCapacity(1 << 20)
            for id in 0..<rows {
                // Each row: its id, a tab, 240 letters starting at a row-dependent offset, a newline.
                chunk.append(contentsOf: "\(id)\t".utf8)
                let offset = (id &* 7919) % 240
                chunk.append(contentsOf: letters[offset..<(offset + 240)])
                chunk.append(10)
                if chunk.count >= 1 << 20 || id == rows - 1 {
                    sentHash.add(chunk)
                    sentBytes += chunk.count
                    try put(chunk)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
        }
        #expect(sentBytes >= 100_000_000)
        #expect(try connection.scalar("select count(*) from copy_check") == "\(rows)")

        var receivedHash = Hasher64()
        let receivedBytes = try connection.copyOut("copy (select id, payload from copy_check order by id) to stdout") { receivedHash.add($0) }
        #expect(receivedBytes == sentBytes)
        #expect(receivedHash.final == sentHash.final)
        try connection.execute("drop table copy_check")
    }

    /// 480 pseudo-random lower-case letters (no tabs, newlines or backslashes to escape); rows take
    /// 240 of them from a varying offset.
    private static let letters: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<480).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(97 + (state >> 33) % 26)
        }
    }()
}

/// An order-sensitive checksum of a byte stream, however it is chunked (bytes are folded in
/// through an 8-byte window, so chunk boundaries do not matter).
struct Hasher64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private var pending: UInt64 = 0
    private var pendingCount = 0
    private(set) var count = 0

    mutating func add(_ bytes: [UInt8]) {
        count += bytes.count
        bytes.withUnsafeBytes { raw in
            var index = 0
            // Finish a partial word byte by byte, then take whole words while aligned to the stream.
            while pendingCount != 0 && index < raw.count { push(raw[index]); index += 1 }
            while index + 8 <= raw.count {
                mix(raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                index += 8
            }
            while index < raw.count { push(raw[index]); index += 1 }
        }
    }

    private mutating func push(_ byte: UInt8) {
        pending |= UInt64(byte) << (8 * UInt64(pendingCount))
        pendingCount += 1
        if pendingCount == 8 {
            mix(pending)
            pending = 0
            pendingCount = 0
        }
    }

    private mutating func mix(_ word: UInt64) {
        value = (value ^ word) &* 0x100_0000_01b3
        value ^= value >> 29
    }

    /// The checksum including a final partial word.
    var final: UInt64 { pendingCount == 0 ? value : ((value ^ pending) &* 0x100_0000_01b3) ^ UInt64(count) }
}
