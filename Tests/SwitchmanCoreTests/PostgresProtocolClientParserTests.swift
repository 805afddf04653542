import Testing

@testable import SwitchmanCore

/// A start-up packet built by hand: length field + code + body, with the length overridable.
private func rawPacket(code: UInt32, body: [UInt8] = [], length: Int? = nil) -> [UInt8] {
    let total = UInt32(truncatingIfNeeded: length ?? 8 + body.count)
    return bytes(total) + bytes(code) + body
}

private func bytes(_ value: UInt32) -> [UInt8] {
    [UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
     UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
}

private func cString(_ string: String) -> [UInt8] { Array(string.utf8) + [0] }


private func parameters(_ pairs: [(String, String)]) -> [StartupMessage.Parameter] {
    pairs.map { StartupMessage.Parameter(name: $0.0, value: $0.1) }
}

/// Small deterministic generator (SplitMix64) so random tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct PostgresProtocolClientParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: StartupPacket
        var testDescription: String { name }
    }

    static let realPackets: [Case] = [
        Case(name: "libpq SSLRequest", bytes: PostgresProtocolFixtures.libpqSSLRequest, expected: .sslRequest),
        Case(name: "GSSENCRequest", bytes: PostgresProtocolFixtures.gssEncRequest, expected: .gssEncRequest),
        Case(
            name: "libpq CancelRequest",
            bytes: PostgresProtocolFixtures.libpqCancelRequest,
            expected: .cancelRequest(CancelKey(processID: 8381, secret: [0xb9, 0xa7, 0x9b, 0x13]))
        ),
        Case(
            name: "psql startup after SSL refused",
            bytes: PostgresProtocolFixtures.libpqStartupAfterSSLRefused,
            expected: .startup(StartupMessage(
                protocolVersion: .v3_0,
                parameters: parameters([("user", "postgres"), ("database", "postgres"), ("application_name", "fixture")]),
                byteCount: 66))
        ),
        Case(
            name: "psql startup, SCRAM user",
            bytes: PostgresProtocolFixtures.libpqStartupScramUser,
            expected: .startup(StartupMessage(
                protocolVersion: .v3_0,
                parameters: parameters([("user", "alice"), ("database", "postgres"), ("application_name", "psql")]),
                byteCount: 60))
        ),
        Case(
            name: "psql startup with options",
            bytes: PostgresProtocolFixtures.libpqStartupWithOptions,
            expected: .startup(StartupMessage(
                protocolVersion: .v3_0,
                parameters: parameters([
                    ("user", "postgres"), ("database", "postgres"), ("options", "-c search_path=public"),
                    ("application_name", "psql"),
                ]),
                byteCount: 93))
        ),
        Case(
            name: "psycopg2 startup",
            bytes: PostgresProtocolFixtures.psycopg2Startup,
            expected: .startup(StartupMessage(
                protocolVersion: .v3_0, parameters: parameters([("user", "postgres"), ("database", "postgres")]),
                byteCount: 41))
        ),
        Case(
            name: "protocol 3.2 startup with a _pq_ option",
            bytes: PostgresProtocolFixtures.startupProtocol32,
            expected: .startup(StartupMessage(
                protocolVersion: .v3_2,
                parameters: parameters([("user", "postgres"), ("database", "postgres"), ("_pq_.unknown_option", "x")]),
                byteCount: 63))
        ),
    ]

    @Test("real client packets parse to their packet, consuming exactly their length", arguments: realPackets)
    func realPacketParses(_ testCase: Case) {
        #expect(PostgresStartupParser.parse(testCase.bytes) == .packet(testCase.expected, consumedBytes: testCase.bytes.count))
    }

    @Test("bytes after a complete packet are left for the next parse", arguments: realPackets)
    func trailingBytesAreNotConsumed(_ testCase: Case) {
        let buffer = testCase.bytes + PostgresProtocolFixtures.psycopg2Startup
        #expect(PostgresStartupParser.parse(buffer) == .packet(testCase.expected, consumedBytes: testCase.bytes.count))
    }

    @Test("every truncation of a real packet asks for more, never past the packet's end", arguments: realPackets)
    func truncationAsksForMore(_ testCase: Case) {
        for cut in 0..<testCase.bytes.count {
            let result = PostgresStartupParser.parse(testCase.bytes[..<cut])
            guard case .needMore(let minimum) = result else {
                Issue.record("prefix of \(cut) bytes gave \(result)")
                continue
            }
            #expect(minimum > cut && minimum <= testCase.bytes.count, "prefix \(cut): needMore(\(minimum))")
        }
    }

    @Test("a non-contiguous collection parses like an array", arguments: realPackets)
    func nonContiguousInput(_ testCase: Case) {
        let lazyBytes = testCase.bytes.lazy.map { $0 }
        #expect(PostgresStartupParser.parse(lazyBytes) == PostgresStartupParser.parse(testCase.bytes))
    }

    @Test("libpq's SSLRequest then StartupMessage on one connection parse one after the other")
    func sslRequestThenStartup() {
        let stream = PostgresProtocolFixtures.libpqSSLRequest + PostgresProtocolFixtures.libpqStartupAfterSSLRefused
        #expect(PostgresStartupParser.parse(stream) == .packet(.sslRequest, consumedBytes: 8))
        guard case .packet(.startup(let message), 66) = PostgresStartupParser.parse(stream.dropFirst(8)) else {
            Issue.record("second packet is not the StartupMessage")
            return
        }
        #expect(message.user == "postgres")
        #expect(message.database == "postgres")
        #expect(message.applicationName == "fixture")
        #expect(message.replication == nil)
    }

    @Test("GSSENCRequest, SSLRequest and StartupMessage in sequence each parse")
    func gssThenSslThenStartup() {
        var stream = PostgresProtocolFixtures.gssEncRequest + PostgresProtocolFixtures.libpqSSLRequest
            + PostgresProtocolFixtures.psycopg2Startup
        var seen: [StartupPacket] = []
        for _ in 0..<3 {
            guard case .packet(let packet, let consumed) = PostgresStartupParser.parse(stream) else { break }
            seen.append(packet)
            stream.removeFirst(consumed)
        }
        #expect(seen.count == 3)
        #expect(seen.prefix(2) == [.gssEncRequest, .sslRequest])
        #expect(stream.isEmpty)
    }

    struct EdgeCase: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: StartupParseResult
        var testDescription: String { name }
    }

    static let secret256 = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
    static let largestStartup: [UInt8] = {
        // 8 header + "user\0" (5) + value + NUL + final NUL = 10000.
        let value = [UInt8](repeating: UInt8(ascii: "u"), count: 10_000 - 8 - 5 - 2)
        return rawPacket(code: 196_608, body: cString("user") + value + [0, 0])
    }()

    static let edgeCases: [EdgeCase] = [
        // Length limits.
        EdgeCase(name: "empty input", bytes: [], expected: .needMore(minimumBytes: 8)),
        EdgeCase(name: "length 7", bytes: rawPacket(code: 0, length: 7), expected: .notPostgres(.lengthTooSmall(7))),
        EdgeCase(name: "length 0", bytes: [0, 0, 0, 0], expected: .notPostgres(.lengthTooSmall(0))),
        EdgeCase(name: "length 10001", bytes: [0, 0, 0x27, 0x11], expected: .notPostgres(.lengthTooLarge(10_001))),
        EdgeCase(name: "negative length", bytes: [0xff, 0xff, 0xff, 0xf0, 0, 3, 0, 0], expected: .notPostgres(.lengthTooLarge(0xffff_fff0))),
        EdgeCase(
            name: "largest startup (10000 bytes) accepted",
            bytes: largestStartup,
            expected: .packet(.startup(StartupMessage(
                protocolVersion: .v3_0,
                parameters: [.init(name: "user", value: String(repeating: "u", count: 9985))],
                byteCount: 10_000)), consumedBytes: 10_000)
        ),
        // Early rejection of other protocols, before a whole length field is there.
        EdgeCase(name: "HTTP request after one byte", bytes: Array("G".utf8), expected: .notPostgres(.lengthTooLarge(0x4700_0000))),
        EdgeCase(name: "HTTP request", bytes: Array("GET / HTTP/1.1\r\n".utf8), expected: .notPostgres(.lengthTooLarge(0x4745_5420))),
        EdgeCase(name: "TLS ClientHello (direct SSL)", bytes: [0x16, 0x03, 0x01, 0x02, 0x00], expected: .notPostgres(.lengthTooLarge(0x1603_0102))),
        EdgeCase(name: "SSH banner", bytes: Array("SSH-2.0-OpenSSH\r\n".utf8), expected: .notPostgres(.lengthTooLarge(0x5353_482d))),
        EdgeCase(name: "second byte non-zero", bytes: [0, 1], expected: .notPostgres(.lengthTooLarge(0x0001_0000))),
        EdgeCase(name: "three bytes over the limit", bytes: [0, 0, 0x28], expected: .notPostgres(.lengthTooLarge(0x2800))),
        EdgeCase(name: "three bytes still possible", bytes: [0, 0, 0x27], expected: .needMore(minimumBytes: 8)),
        EdgeCase(name: "length known, code missing", bytes: [0, 0, 0, 40, 0, 3], expected: .needMore(minimumBytes: 8)),
        EdgeCase(name: "code known, body missing", bytes: [0, 0, 0, 40, 0, 3, 0, 0], expected: .needMore(minimumBytes: 40)),
        // Requests with the wrong length.
        EdgeCase(
            name: "SSLRequest of 9 bytes",
            bytes: rawPacket(code: StartupPacket.sslRequestCode, body: [0]),
            expected: .notPostgres(.badRequestLength(code: StartupPacket.sslRequestCode, length: 9))
        ),
        EdgeCase(
            name: "GSSENCRequest of 12 bytes, rejected before the body arrives",
            bytes: rawPacket(code: StartupPacket.gssEncRequestCode, length: 12),
            expected: .notPostgres(.badRequestLength(code: StartupPacket.gssEncRequestCode, length: 12))
        ),
        EdgeCase(
            name: "CancelRequest of 15 bytes",
            bytes: rawPacket(code: StartupPacket.cancelRequestCode, body: [0, 0, 0, 1, 9, 9, 9]),
            expected: .notPostgres(.badCancelLength(15))
        ),
        EdgeCase(
            name: "CancelRequest of 269 bytes",
            bytes: rawPacket(code: StartupPacket.cancelRequestCode, length: 269),
            expected: .notPostgres(.badCancelLength(269))
        ),
        EdgeCase(
            name: "CancelRequest with a 256-byte secret (protocol 3.2)",
            bytes: rawPacket(code: StartupPacket.cancelRequestCode, body: [0, 0, 0x30, 0x39] + secret256),
            expected: .packet(.cancelRequest(CancelKey(processID: 12345, secret: secret256)), consumedBytes: 268)
        ),
        EdgeCase(
            name: "CancelRequest with a 32-byte secret (PostgreSQL 18)",
            bytes: rawPacket(code: StartupPacket.cancelRequestCode, body: [0, 0, 0, 7] + Array(secret256[..<32])),
            expected: .packet(.cancelRequest(CancelKey(processID: 7, secret: Array(secret256[..<32]))), consumedBytes: 44)
        ),
        EdgeCase(
            name: "CancelRequest still arriving",
            bytes: Array(rawPacket(code: StartupPacket.cancelRequestCode, body: [0, 0, 0, 7] + Array(secret256[..<32])).prefix(20)),
            expected: .needMore(minimumBytes: 44)
        ),
        // Protocol versions.
        EdgeCase(name: "protocol 2.0 refused", bytes: rawPacket(code: 0x0002_0000, body: [0]), expected: .notPostgres(.unsupportedCode(0x0002_0000))),
        EdgeCase(name: "protocol 4.0 refused", bytes: rawPacket(code: 0x0004_0000, body: [0]), expected: .notPostgres(.unsupportedCode(0x0004_0000))),
        EdgeCase(name: "unknown request code", bytes: rawPacket(code: 80_877_105), expected: .notPostgres(.unsupportedCode(80_877_105))),
        EdgeCase(
            name: "protocol 3.9 kept as such",
            bytes: rawPacket(code: 0x0003_0009, body: cString("user") + cString("x") + [0]),
            expected: .packet(.startup(StartupMessage(
                protocolVersion: ProtocolVersion(major: 3, minor: 9),
                parameters: [.init(name: "user", value: "x")], byteCount: 16)), consumedBytes: 16)
        ),
        // Parameter layout.
        EdgeCase(
            name: "no parameters at all (just the terminator)",
            bytes: rawPacket(code: 196_608, body: [0]),
            expected: .packet(.startup(StartupMessage(protocolVersion: .v3_0, parameters: [], byteCount: 9)), consumedBytes: 9)
        ),
        EdgeCase(
            name: "empty value kept",
            bytes: rawPacket(code: 196_608, body: cString("application_name") + cString("") + [0]),
            expected: .packet(.startup(StartupMessage(
                protocolVersion: .v3_0, parameters: [.init(name: "application_name", value: "")], byteCount: 27)),
                consumedBytes: 27)
        ),
        EdgeCase(name: "empty body (no terminator)", bytes: rawPacket(code: 196_608), expected: .notPostgres(.badParameterLayout)),
        EdgeCase(
            name: "missing final NUL",
            bytes: rawPacket(code: 196_608, body: cString("user") + cString("x")),
            expected: .notPostgres(.badParameterLayout)
        ),
        EdgeCase(
            name: "name without value",
            bytes: rawPacket(code: 196_608, body: cString("user") + [0] + cString("database")),
            expected: .notPostgres(.badParameterLayout)
        ),
        EdgeCase(
            name: "value without NUL",
            bytes: rawPacket(code: 196_608, body: cString("user") + Array("x".utf8)),
            expected: .notPostgres(.badParameterLayout)
        ),
        EdgeCase(
            name: "bytes after the terminator",
            bytes: rawPacket(code: 196_608, body: cString("user") + cString("x") + [0, 0x41]),
            expected: .notPostgres(.badParameterLayout)
        ),
        EdgeCase(
            name: "two terminators",
            bytes: rawPacket(code: 196_608, body: cString("user") + cString("x") + [0, 0]),
            expected: .notPostgres(.badParameterLayout)
        ),
        EdgeCase(
            name: "invalid UTF-8 replaced, not refused",
            bytes: rawPacket(code: 196_608, body: cString("user") + [0xff, 0] + [0]),
            expected: .packet(.startup(StartupMessage(
                protocolVersion: .v3_0, parameters: [.init(name: "user", value: "\u{FFFD}")], byteCount: 16)),
                consumedBytes: 16)
        ),
    ]

    @Test("edge cases: limits, other protocols, bad layouts", arguments: edgeCases)
    func edgeCase(_ testCase: EdgeCase) {
        #expect(PostgresStartupParser.parse(testCase.bytes) == testCase.expected)
    }

    @Test("a packet that is 'not PostgreSQL' stays so however many bytes follow")
    func rejectionIsFinal() {
        for testCase in Self.edgeCases {
            guard case .notPostgres = testCase.expected else { continue }
            for extra in [[UInt8](repeating: 0, count: 10), [UInt8](repeating: 0xff, count: 300)] {
                let result = PostgresStartupParser.parse(testCase.bytes + extra)
                guard case .notPostgres = result else {
                    Issue.record("\(testCase.name) + \(extra.count) bytes gave \(result)")
                    continue
                }
            }
        }
    }

    @Test("random and mutated input never traps, and results stay consistent with prefixes")
    func randomInput() {
        var generator = SeededGenerator(state: 0x5EED_0001)
        let seeds = Self.realPackets.map(\.bytes)
        for round in 0..<3_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int.random(in: 0...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                // Make the length field plausible half of the time so deeper paths are reached.
                if input.count >= 4, Bool.random(using: &generator) {
                    input[0] = 0
                    input[1] = 0
                    input[2] = 0
                    input[3] = UInt8(min(255, input.count))
                }
            } else {
                input = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let position = Int.random(in: 0..<input.count, using: &generator)
                    input[position] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            Self.checkConsistency(input)
        }
    }

    /// Invariants the runtime relies on: a packet never claims more bytes than given, and a
    /// packet's every prefix asks for more (it is never rejected nor taken for another packet).
    static func checkConsistency(_ input: [UInt8]) {
        switch PostgresStartupParser.parse(input) {
        case .packet(_, let consumed):
            #expect(consumed >= 8 && consumed <= input.count)
            for cut in stride(from: 0, to: consumed, by: max(1, consumed / 16)) {
                guard case .needMore(let minimum) = PostgresStartupParser.parse(input[..<cut]) else {
                    Issue.record("prefix \(cut) of \(input) is not needMore")
                    return
                }
                #expect(minimum > cut && minimum <= consumed)
            }
        case .needMore(let minimum):
            #expect(minimum > input.count && minimum <= StartupPacket.maximumLength)
        case .notPostgres:
            break
        }
    }
}
