import Testing

@testable import SwitchmanCore

struct PostgresProtocolMessagesTests {
    @Test("an ErrorResponse has S, V, C, M, then D and H, each NUL-terminated, and a final NUL")
    func errorResponseBytes() {
        let bytes = PostgresMessages.errorResponse(
            severity: "FATAL", sqlstate: "57P03", message: "m", detail: "d", hint: "h")
        let body = Array("SFATAL\0VFATAL\0C57P03\0Mm\0Dd\0Hh\0\0".utf8)
        #expect(bytes == [UInt8(ascii: "E"), 0, 0, 0, UInt8(4 + body.count)] + body)
    }

    @Test("an ErrorResponse without detail and hint leaves those fields out")
    func errorResponseWithoutOptionalFields() {
        let bytes = PostgresMessages.errorResponse(sqlstate: "08006", message: "gone")
        let body = Array("SFATAL\0VFATAL\0C08006\0Mgone\0\0".utf8)
        #expect(bytes == [UInt8(ascii: "E"), 0, 0, 0, UInt8(4 + body.count)] + body)
    }

    @Test("Switchman's own ErrorResponse reads back as the early error a node would send")
    func errorResponseRoundTrip() {
        let message = "switchman: no primary for cluster my_cluster (failover in progress, held 30s)"
        let bytes = PostgresMessages.errorResponse(
            sqlstate: "57P03", message: message, detail: "listener primary", hint: "retry later")
        var parser = PostgresServerStartupParser(expectingAnswerTo: .ssl)
        let events = parser.feed(PostgresMessages.sslRefused + bytes)
        guard events.count == 2, case .errorBeforeAuth(let fields) = events[1] else {
            Issue.record("got \(events)")
            return
        }
        #expect(events[0] == .encryptionRefused(.ssl))
        #expect(fields.severity == "FATAL" && fields.localizedSeverity == "FATAL")
        #expect(fields.sqlstate == "57P03" && fields.isCannotConnectNow)
        #expect(fields.message == message)
        #expect(fields.detail == "listener primary")
        #expect(fields.hint == "retry later")
    }

    @Test("NUL bytes inside error strings are removed so framing holds")
    func errorResponseStripsNUL() {
        let bytes = PostgresMessages.errorResponse(sqlstate: "57P03", message: "a\0b", hint: "\0")
        var parser = PostgresServerStartupParser()
        guard case .errorBeforeAuth(let fields) = parser.feed(bytes).first else {
            Issue.record("not parsed")
            return
        }
        #expect(fields.message == "ab")
        #expect(fields.hint == "")
        #expect(fields.fields.count == 5)
    }

    @Test("the built ErrorResponse matches PostgreSQL's framing of a recorded 57P03")
    func errorResponseMatchesRecordedFraming() {
        // Same fields as the recorded shutdown error, without PostgreSQL's F/L/R source fields.
        let recorded = PostgresProtocolFixtures.shuttingDown
        let built = PostgresMessages.errorResponse(sqlstate: "57P03", message: "the database system is shutting down")
        let sourceFields = Array("Fpostmaster.c\0L2432\0RProcessStartupPacket\0".utf8)
        #expect(Array(recorded[5...]) == Array(built[5..<(built.count - 1)]) + sourceFields + [0])
    }

    @Test("sslRefused and gssEncRefused are the single byte N")
    func refusals() {
        #expect(PostgresMessages.sslRefused == [0x4e])
        #expect(PostgresMessages.gssEncRefused == [0x4e])
    }

    @Test("the constant requests equal what libpq sends")
    func constantRequests() {
        #expect(PostgresMessages.sslRequest == PostgresProtocolFixtures.libpqSSLRequest)
        #expect(PostgresMessages.gssEncRequest == PostgresProtocolFixtures.gssEncRequest)
    }

    @Test("cancelRequest for the recorded key is byte for byte libpq's CancelRequest")
    func cancelRequestMatchesLibpq() {
        let key = CancelKey(processID: 8381, secret: [0xb9, 0xa7, 0x9b, 0x13])
        #expect(PostgresMessages.cancelRequest(key) == PostgresProtocolFixtures.libpqCancelRequest)
    }

    @Test("cancelRequest round-trips through the parser for every secret length 4…256", arguments: [4, 5, 32, 255, 256])
    func cancelRequestRoundTrip(secretLength: Int) {
        let key = CancelKey(processID: 0xDEAD_BEEF, secret: (0..<secretLength).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let bytes = PostgresMessages.cancelRequest(key)
        #expect(bytes.count == 12 + secretLength)
        #expect(PostgresStartupParser.parse(bytes) == .packet(.cancelRequest(key), consumedBytes: bytes.count))
    }

    @Test("startupMessage with psycopg2's parameters is byte for byte its StartupMessage")
    func startupMessageMatchesLibpq() {
        let bytes = PostgresMessages.startupMessage(parameters: [("user", "postgres"), ("database", "postgres")])
        #expect(bytes == PostgresProtocolFixtures.psycopg2Startup)
        let psql = PostgresMessages.startupMessage(parameters: [
            ("user", "postgres"), ("database", "postgres"), ("options", "-c search_path=public"), ("application_name", "psql"),
        ])
        #expect(psql == PostgresProtocolFixtures.libpqStartupWithOptions)
    }

    @Test("startupMessage round-trips, protocol version and parameter order kept")
    func startupMessageRoundTrip() {
        let pairs = [("user", "u"), ("database", "d"), ("application_name", ""), ("_pq_.x", "1"), ("user", "second")]
        let bytes = PostgresMessages.startupMessage(parameters: pairs, protocolVersion: .v3_2)
        guard case .packet(.startup(let message), let consumed) = PostgresStartupParser.parse(bytes) else {
            Issue.record("not parsed")
            return
        }
        #expect(consumed == bytes.count && message.byteCount == bytes.count)
        #expect(message.protocolVersion == .v3_2)
        #expect(message.parameters.map(\.name) == pairs.map(\.0))
        #expect(message.parameters.map(\.value) == pairs.map(\.1))
        #expect(message.user == "u")
    }

    @Test("protocol versions split and join their 32-bit code", arguments: [
        (UInt32(196_608), ProtocolVersion.v3_0, "3.0"), (196_610, .v3_2, "3.2"), (0x0002_0000, ProtocolVersion(major: 2, minor: 0), "2.0"),
    ])
    func protocolVersionCode(code: UInt32, version: ProtocolVersion, text: String) {
        #expect(ProtocolVersion(code: code) == version)
        #expect(version.code == code)
        #expect(version.description == text)
    }

    @Test("not-PostgreSQL reasons describe the type byte readably")
    func reasonDescriptions() {
        #expect(NotPostgresReason.unexpectedServerMessage(type: UInt8(ascii: "S"), length: 9).description
            == "unexpected server message 'S' of length 9")
        #expect(NotPostgresReason.unexpectedEncryptionAnswer(0x16).description
            == "unexpected answer 0x16 to an encryption request")
    }
}
