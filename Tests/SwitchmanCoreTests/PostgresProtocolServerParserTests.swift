import Testing

@testable import SwitchmanCore

private typealias Fixtures = PostgresProtocolFixtures

/// A typed server message built by hand: type + length field + body, with the length overridable.
private func message(_ type: Character, _ body: [UInt8] = [], length: Int? = nil) -> [UInt8] {
    let total = UInt32(truncatingIfNeeded: length ?? 4 + body.count)
    return [UInt8(ascii: type.unicodeScalars.first ?? "?")]
        + [UInt8(truncatingIfNeeded: total >> 24), UInt8(truncatingIfNeeded: total >> 16),
           UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total)]
        + body
}

private func int32(_ value: UInt32) -> [UInt8] { Array(message("x", length: Int(value)).dropFirst()) }

private func cString(_ string: String) -> [UInt8] { Array(string.utf8) + [0] }

private let authenticationOk = message("R", int32(0))
private let readyForQuery = message("Z", [UInt8(ascii: "I")])

/// The ParameterStatus messages PostgreSQL 15.18 sent in every recorded start-up, in order.
private func parameterStatuses(applicationName: String, superuser: Bool, user: String) -> [ServerStartupEvent] {
    [
        ("application_name", applicationName), ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"),
        ("default_transaction_read_only", "off"), ("in_hot_standby", "off"), ("integer_datetimes", "on"),
        ("IntervalStyle", "postgres"), ("is_superuser", superuser ? "on" : "off"), ("server_encoding", "UTF8"),
        ("server_version", "15.18 (Debian 15.18-0+deb12u1)"), ("session_authorization", user),
        ("standard_conforming_strings", "on"), ("TimeZone", "Etc/UTC"),
    ].map { ServerStartupEvent.parameterStatus(name: $0.0, value: $0.1) }
}

/// Fields PostgreSQL 15.18 sent for a FATAL raised in `ProcessStartupPacket`.
private func startupPacketFatal(_ message: String, line: String, detail: String? = nil) -> ErrorFields {
    var fields: [(Character, String)] = [("S", "FATAL"), ("V", "FATAL"), ("C", "57P03"), ("M", message)]
    if let detail { fields.append(("D", detail)) }
    fields += [("F", "postmaster.c"), ("L", line), ("R", "ProcessStartupPacket")]
    return ErrorFields(fields: fields.map { .init(code: UInt8(ascii: $0.0.unicodeScalars.first ?? "?"), value: $0.1) })
}

private func key(_ processID: UInt32, _ secret: [UInt8]) -> ServerStartupEvent {
    .backendKey(CancelKey(processID: processID, secret: secret))
}

struct PostgresProtocolServerParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let request: EncryptionRequest?
        let bytes: [UInt8]
        let expected: [ServerStartupEvent]
        var testDescription: String { name }
    }

    static let realStreams: [Case] = [
        Case(
            name: "trust start-up after SSL refused",
            request: .ssl,
            bytes: Fixtures.trustStartAfterSSLRefused,
            expected: [.encryptionRefused(.ssl), .authenticationRequested(code: 0)]
                + parameterStatuses(applicationName: "fixture", superuser: true, user: "postgres")
                + [key(8221, [0xe9, 0x20, 0x50, 0x98]), .readyForQuery(transactionStatus: UInt8(ascii: "I"))]
        ),
        Case(
            name: "SCRAM exchange",
            request: nil,
            bytes: Fixtures.scramStart,
            expected: [10, 11, 12, 0].map { .authenticationRequested(code: $0) }
                + parameterStatuses(applicationName: "psql", superuser: false, user: "alice")
                + [key(8229, [0x91, 0x8d, 0x76, 0x30]), .readyForQuery(transactionStatus: UInt8(ascii: "I"))]
        ),
        Case(
            name: "MD5 exchange",
            request: nil,
            bytes: Fixtures.md5Request,
            expected: [.authenticationRequested(code: 5), .authenticationRequested(code: 0)]
                + parameterStatuses(applicationName: "psql", superuser: false, user: "bob")
                + [key(8235, [0xd0, 0xb8, 0x11, 0xde]), .readyForQuery(transactionStatus: UInt8(ascii: "I"))]
        ),
        Case(
            name: "unknown database: error after authentication",
            request: nil,
            bytes: Fixtures.badDatabase,
            expected: [
                .authenticationRequested(code: 0),
                .error(ErrorFields(fields: [
                    .init(code: UInt8(ascii: "S"), value: "FATAL"), .init(code: UInt8(ascii: "V"), value: "FATAL"),
                    .init(code: UInt8(ascii: "C"), value: "3D000"),
                    .init(code: UInt8(ascii: "M"), value: "database \"nosuchdb\" does not exist"),
                    .init(code: UInt8(ascii: "F"), value: "postinit.c"), .init(code: UInt8(ascii: "L"), value: "948"),
                    .init(code: UInt8(ascii: "R"), value: "InitPostgres"),
                ])),
            ]
        ),
        Case(
            name: "psycopg2 session start with the key its cancel request carries",
            request: nil,
            bytes: Fixtures.psycopg2SessionStart,
            expected: [.authenticationRequested(code: 0)]
                + parameterStatuses(applicationName: "", superuser: true, user: "postgres")
                + [key(8381, [0xb9, 0xa7, 0x9b, 0x13]), .readyForQuery(transactionStatus: UInt8(ascii: "I"))]
        ),
        Case(
            name: "protocol 3.2 asked, 3.0 negotiated",
            request: nil,
            bytes: Fixtures.negotiate32Reply,
            expected: [
                .negotiateProtocolVersion(newestVersion: .v3_0, unrecognizedOptions: ["_pq_.unknown_option"]),
                .authenticationRequested(code: 0),
            ]
                + parameterStatuses(applicationName: "", superuser: true, user: "postgres")
                + [key(17022, [0xf0, 0xad, 0x55, 0x19]), .readyForQuery(transactionStatus: UInt8(ascii: "I"))]
        ),
        Case(
            name: "shutting down: 57P03 before auth",
            request: nil,
            bytes: Fixtures.shuttingDown,
            expected: [.errorBeforeAuth(startupPacketFatal("the database system is shutting down", line: "2432"))]
        ),
        Case(
            name: "starting up: 57P03 before auth",
            request: nil,
            bytes: Fixtures.startingUp,
            expected: [.errorBeforeAuth(startupPacketFatal("the database system is starting up", line: "2415"))]
        ),
        Case(
            name: "crash recovery: 57P03 before auth",
            request: nil,
            bytes: Fixtures.inRecoveryMode,
            expected: [.errorBeforeAuth(startupPacketFatal("the database system is in recovery mode", line: "2437"))]
        ),
        Case(
            name: "not yet consistent: 57P03 with a detail",
            request: nil,
            bytes: Fixtures.notYetAccepting,
            expected: [.errorBeforeAuth(startupPacketFatal(
                "the database system is not yet accepting connections", line: "2421",
                detail: "Consistent recovery state has not been yet reached."))]
        ),
        Case(
            name: "SSL refused, then 57P03",
            request: .ssl,
            bytes: PostgresMessages.sslRefused + Fixtures.shuttingDown,
            expected: [.encryptionRefused(.ssl), .errorBeforeAuth(startupPacketFatal("the database system is shutting down", line: "2432"))]
        ),
        Case(name: "GSS accepted (PostgreSQL 15 answered G)", request: .gss, bytes: [UInt8(ascii: "G")], expected: [.encryptionAccepted(.gss)]),
    ]

    @Test("real server streams give their events, fed whole", arguments: realStreams)
    func wholeStream(_ testCase: Case) {
        var parser = PostgresServerStartupParser(expectingAnswerTo: testCase.request)
        #expect(parser.feed(testCase.bytes) == testCase.expected)
        #expect(parser.isFinished)
    }

    @Test("real server streams give the same events split in two at every offset", arguments: realStreams)
    func everySplitPoint(_ testCase: Case) {
        for split in 0...testCase.bytes.count {
            var parser = PostgresServerStartupParser(expectingAnswerTo: testCase.request)
            let events = parser.feed(testCase.bytes[..<split]) + parser.feed(testCase.bytes[split...])
            #expect(events == testCase.expected, "split at \(split)")
        }
    }

    @Test("real server streams give the same events fed one byte at a time", arguments: realStreams)
    func byteByByte(_ testCase: Case) {
        var parser = PostgresServerStartupParser(expectingAnswerTo: testCase.request)
        var events: [ServerStartupEvent] = []
        for byte in testCase.bytes { events += parser.feed(CollectionOfOne(byte)) }
        #expect(events == testCase.expected)
    }

    @Test("a real stream cut short leaves the parser waiting, never finished early or wrong", arguments: realStreams)
    func truncatedStream(_ testCase: Case) {
        for cut in 0..<testCase.bytes.count {
            var parser = PostgresServerStartupParser(expectingAnswerTo: testCase.request)
            let events = parser.feed(testCase.bytes[..<cut])
            #expect(testCase.expected.starts(with: events), "cut at \(cut)")
            // Every fixture's last event needs its last byte.
            #expect(!parser.isFinished, "cut at \(cut)")
        }
    }

    @Test("the 57P03 fixtures are recognised as retryable, the others not")
    func retryableErrors() {
        let cases: [([UInt8], Bool)] = [
            (Fixtures.shuttingDown, true), (Fixtures.startingUp, true), (Fixtures.inRecoveryMode, true),
            (Fixtures.notYetAccepting, true), (Array(Fixtures.noHbaEntryAfterSSLRefused.dropFirst()), false),
        ]
        for (bytes, retryable) in cases {
            var parser = PostgresServerStartupParser()
            guard case .errorBeforeAuth(let fields) = parser.feed(bytes).first else {
                Issue.record("no early error")
                continue
            }
            #expect(fields.isCannotConnectNow == retryable)
            #expect(fields.severity == "FATAL")
        }
    }

    @Test("after an N to GSSENCRequest an SSLRequest's answer is read as such")
    func gssRefusedThenSsl() {
        var parser = PostgresServerStartupParser(expectingAnswerTo: .gss)
        #expect(parser.feed([UInt8(ascii: "N")]) == [.encryptionRefused(.gss)])
        let accepted = parser.expectEncryptionAnswer(to: .ssl)
        #expect(accepted)
        #expect(parser.feed([UInt8(ascii: "S")]) == [.encryptionAccepted(.ssl)])
        #expect(parser.isFinished)
        #expect(parser.feed(authenticationOk) == [])
    }

    @Test("one-byte answers to encryption requests", arguments: [
        (EncryptionRequest.ssl, UInt8(ascii: "S"), ServerStartupEvent.encryptionAccepted(.ssl)),
        (.ssl, UInt8(ascii: "N"), .encryptionRefused(.ssl)),
        (.gss, UInt8(ascii: "G"), .encryptionAccepted(.gss)),
        (.gss, UInt8(ascii: "N"), .encryptionRefused(.gss)),
        (.ssl, UInt8(ascii: "G"), .notPostgres(.unexpectedEncryptionAnswer(UInt8(ascii: "G")))),
        (.gss, UInt8(ascii: "S"), .notPostgres(.unexpectedEncryptionAnswer(UInt8(ascii: "S")))),
        (.ssl, UInt8(ascii: "H"), .notPostgres(.unexpectedEncryptionAnswer(UInt8(ascii: "H")))),
    ])
    func encryptionAnswer(request: EncryptionRequest, byte: UInt8, expected: ServerStartupEvent) {
        var parser = PostgresServerStartupParser(expectingAnswerTo: request)
        #expect(parser.feed([byte]) == [expected])
    }

    @Test("an ErrorResponse answering an SSLRequest is read as an early error")
    func errorAnswersSslRequest() {
        var parser = PostgresServerStartupParser(expectingAnswerTo: .ssl)
        guard case .errorBeforeAuth(let fields) = parser.feed(Fixtures.startingUp).first else {
            Issue.record("not an early error")
            return
        }
        #expect(fields.sqlstate == "57P03")
    }

    @Test("expecting an encryption answer in the middle of a message is refused")
    func expectEncryptionMidMessage() {
        var parser = PostgresServerStartupParser()
        _ = parser.feed(authenticationOk.prefix(3))
        let midMessage = parser.expectEncryptionAnswer(to: .ssl)
        #expect(midMessage == false)
        #expect(parser.feed(authenticationOk.dropFirst(3)) == [.authenticationRequested(code: 0)])
        #expect(parser.feed(readyForQuery) == [.readyForQuery(transactionStatus: UInt8(ascii: "I"))])
        let afterFinish = parser.expectEncryptionAnswer(to: .ssl)
        #expect(afterFinish == false)
    }

    struct Garbage: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let expected: [ServerStartupEvent]
        var testDescription: String { name }
    }

    static let oversizedKeySecret = [UInt8](repeating: 1, count: 257)

    static let garbage: [Garbage] = [
        Garbage(name: "SSH banner", bytes: Array("SSH-2.0-OpenSSH_9.2\r\n".utf8),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "S"), length: 0x5348_2d32))]),
        Garbage(name: "HTTP response", bytes: Array("HTTP/1.1 400 Bad Request\r\n".utf8),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "H"), length: 0x5454_502f))]),
        Garbage(name: "ParameterStatus before auth", bytes: message("S", cString("a") + cString("b")),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "S"), length: 8))]),
        Garbage(name: "BackendKeyData before auth", bytes: message("K", int32(1) + int32(2)),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "K"), length: 12))]),
        Garbage(name: "ReadyForQuery before auth", bytes: readyForQuery,
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "Z"), length: 5))]),
        Garbage(name: "length below 4", bytes: message("R", length: 3),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "R"), length: 3))]),
        Garbage(name: "negative length", bytes: message("E", length: -8 & 0xffff_ffff),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "E"), length: -8))]),
        Garbage(name: "authentication request of 2001 bytes", bytes: message("R", length: 2001),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "R"), length: 2001))]),
        Garbage(name: "authentication request without a code", bytes: message("R", [0, 0], length: 6),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "R"), length: 6))]),
        Garbage(name: "early error of 30001 bytes (a pre-3.0 server's text error)", bytes: message("E", length: 30_001),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "E"), length: 30_001))]),
        Garbage(name: "protocol-2 error text", bytes: Array("EFATAL:  unsupported frontend protocol\n\0".utf8),
                expected: [.notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "E"), length: 0x4641_5441))]),
        Garbage(name: "BackendKeyData with a 3-byte secret", bytes: authenticationOk + message("K", int32(1) + [1, 2, 3]),
                expected: [.authenticationRequested(code: 0), .notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "K"), length: 11))]),
        Garbage(name: "BackendKeyData with a 257-byte secret", bytes: authenticationOk + message("K", int32(1) + oversizedKeySecret),
                expected: [.authenticationRequested(code: 0), .notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "K"), length: 265))]),
        Garbage(name: "ReadyForQuery of length 6", bytes: authenticationOk + message("Z", [0x49, 0]),
                expected: [.authenticationRequested(code: 0), .notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "Z"), length: 6))]),
        Garbage(name: "a query result during start-up", bytes: authenticationOk + message("D", int32(0)),
                expected: [.authenticationRequested(code: 0), .notPostgres(.unexpectedServerMessage(type: UInt8(ascii: "D"), length: 8))]),
        Garbage(name: "ParameterStatus with one string", bytes: authenticationOk + message("S", cString("a") + [0x62, 0x63]),
                expected: [.authenticationRequested(code: 0), .notPostgres(.badServerMessage(type: UInt8(ascii: "S")))]),
        Garbage(name: "NegotiateProtocolVersion counting 2 names, holding 1",
                bytes: message("v", int32(196_608) + int32(2) + cString("_pq_.a")),
                expected: [.notPostgres(.badServerMessage(type: UInt8(ascii: "v")))]),
    ]

    @Test("servers that are not PostgreSQL, or break its start-up, end sniffing", arguments: garbage)
    func notPostgres(_ testCase: Garbage) {
        var parser = PostgresServerStartupParser()
        #expect(parser.feed(testCase.bytes) == testCase.expected)
        #expect(parser.isFinished)
        #expect(parser.feed(Fixtures.psycopg2SessionStart) == [])
    }

    @Test("a BackendKeyData with protocol 3.2's 256-byte secret is reported whole")
    func longBackendKey() {
        let secret = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var parser = PostgresServerStartupParser()
        let events = parser.feed(authenticationOk + message("K", int32(4242) + secret) + readyForQuery)
        #expect(events == [.authenticationRequested(code: 0), key(4242, secret), .readyForQuery(transactionStatus: UInt8(ascii: "I"))])
    }

    @Test("an error longer than 64 KiB after auth is parsed from its first 64 KiB and the stream goes on")
    func oversizedErrorAfterAuth() {
        let long = String(repeating: "x", count: 100_000)
        let body = [UInt8(ascii: "C")] + cString("XX000") + [UInt8(ascii: "M")] + cString(long) + [0]
        var parser = PostgresServerStartupParser()
        let events = parser.feed(authenticationOk + message("E", body) + readyForQuery)
        // The message field is cut by the 64 KiB bound and has no NUL left: it is dropped.
        #expect(events == [
            .authenticationRequested(code: 0),
            .error(ErrorFields(fields: [.init(code: UInt8(ascii: "C"), value: "XX000")])),
            .readyForQuery(transactionStatus: UInt8(ascii: "I")),
        ])
    }

    @Test("a ParameterStatus longer than 64 KiB is skipped without an event")
    func oversizedParameterStatus() {
        let value = String(repeating: "v", count: 70_000)
        var parser = PostgresServerStartupParser()
        let events = parser.feed(authenticationOk + message("S", cString("huge") + cString(value))
            + message("S", cString("small") + cString("1")) + readyForQuery)
        #expect(events == [
            .authenticationRequested(code: 0), .parameterStatus(name: "small", value: "1"),
            .readyForQuery(transactionStatus: UInt8(ascii: "I")),
        ])
    }

    @Test("a notice before auth and an error without fields are reported")
    func noticeAndEmptyError() {
        var parser = PostgresServerStartupParser()
        let notice = message("N", [UInt8(ascii: "S")] + cString("WARNING") + [0])
        #expect(parser.feed(notice + authenticationOk + message("E", [0])) == [
            .notice(ErrorFields(fields: [.init(code: UInt8(ascii: "S"), value: "WARNING")])),
            .authenticationRequested(code: 0),
            .error(ErrorFields(fields: [])),
        ])
        #expect(!parser.isFinished)
    }

    @Test("random chunks never trap, and chunking never changes the events")
    func randomChunks() {
        var generator = SeededGenerator(state: 0x5EED_0002)
        let seeds = Self.realStreams.map(\.bytes) + Self.garbage.map(\.bytes)
        for round in 0..<1_500 {
            var input: [UInt8]
            if round % 3 == 0 {
                input = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                input = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
                for _ in 0..<Int.random(in: 1...6, using: &generator) where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
                }
            }
            let request: EncryptionRequest? = [nil, .ssl, .gss][Int.random(in: 0...2, using: &generator)]
            var whole = PostgresServerStartupParser(expectingAnswerTo: request)
            let expected = whole.feed(input)
            var chunked = PostgresServerStartupParser(expectingAnswerTo: request)
            var events: [ServerStartupEvent] = []
            var offset = 0
            while offset < input.count {
                let size = Int.random(in: 1...17, using: &generator)
                events += chunked.feed(input[offset..<min(input.count, offset + size)])
                offset += size
            }
            #expect(events == expected)
            #expect(chunked.isFinished == whole.isFinished)
        }
    }
}
