// libFuzzer harness for the PostgreSQL start-up parsers. Built by scripts/fuzz.sh together
// with Sources/SwitchmanCore/PostgresProtocol/*.swift as one module (no SwiftPM, no Yams).
//
// Every input goes through the client parser whole; its first byte then picks what the server
// parser expects (nothing, an SSL answer, a GSS answer) and the rest is fed to it whole and in
// chunks. Invariants are checked with `precondition`, so a violation is a crash libFuzzer reports.

/// Entry point libFuzzer calls once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStartupParsers(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    checkClientParser(bytes)
    checkServerParser(bytes)
    checkErrorFields(bytes)
    return 0
}

private func checkClientParser(_ bytes: [UInt8]) {
    let result = PostgresStartupParser.parse(bytes)
    switch result {
    case .needMore(let minimum):
        precondition(minimum > bytes.count && minimum <= StartupPacket.maximumLength, "needMore \(minimum)")
    case .notPostgres:
        // Rejection is final: more bytes never turn it into a packet.
        if case .packet = PostgresStartupParser.parse(bytes + [0, 0, 0, 0]) {
            preconditionFailure("rejected input became a packet with more bytes")
        }
    case .packet(let packet, let consumed):
        precondition(consumed >= StartupPacket.minimumLength && consumed <= bytes.count)
        // The same packet with nothing after it parses the same; every shorter prefix asks for more.
        precondition(PostgresStartupParser.parse(bytes[..<consumed]) == result)
        for cut in [0, 3, 4, 7, 8, consumed / 2, consumed - 1] where cut >= 0 && cut < consumed {
            guard case .needMore(let minimum) = PostgresStartupParser.parse(bytes[..<cut]) else {
                preconditionFailure("prefix \(cut) of a \(consumed)-byte packet is not needMore")
            }
            precondition(minimum > cut && minimum <= consumed)
        }
        checkRebuild(packet, original: Array(bytes[..<consumed]))
    }
}

/// The builders reproduce what the parser read: exactly for requests and cancel keys; for a
/// StartupMessage the parameters survive a second round (invalid UTF-8 is replaced once).
private func checkRebuild(_ packet: StartupPacket, original: [UInt8]) {
    switch packet {
    case .sslRequest:
        precondition(original == PostgresMessages.sslRequest)
    case .gssEncRequest:
        precondition(original == PostgresMessages.gssEncRequest)
    case .cancelRequest(let key):
        precondition(PostgresMessages.cancelRequest(key) == original)
    case .startup(let message):
        let rebuilt = PostgresMessages.startupMessage(
            parameters: message.parameters.map { ($0.name, $0.value) }, protocolVersion: message.protocolVersion)
        if rebuilt == original { return }
        guard rebuilt.count <= StartupPacket.maximumLength else { return }
        guard case .packet(.startup(let again), rebuilt.count) = PostgresStartupParser.parse(rebuilt) else {
            preconditionFailure("rebuilt StartupMessage does not parse")
        }
        precondition(again.parameters == message.parameters && again.protocolVersion == message.protocolVersion)
    }
}

private func checkServerParser(_ bytes: [UInt8]) {
    guard let selector = bytes.first else { return }
    let request: EncryptionRequest? = [nil, .ssl, .gss][Int(selector % 3)]
    let stream = bytes.dropFirst()

    var whole = PostgresServerStartupParser(expectingAnswerTo: request)
    let expected = whole.feed(stream)

    // Chunk sizes 1…8 taken from the input itself, so libFuzzer explores the split points too.
    var chunked = PostgresServerStartupParser(expectingAnswerTo: request)
    var events: [ServerStartupEvent] = []
    var offset = stream.startIndex
    var step = 0
    while offset < stream.endIndex {
        let size = Int(bytes[step % bytes.count] % 8) + 1
        let end = min(stream.endIndex, offset + size)
        events += chunked.feed(stream[offset..<end])
        offset = end
        step += 1
    }
    precondition(events == expected, "chunked feeding changed the events")
    precondition(chunked.isFinished == whole.isFinished)

    for event in expected {
        switch event {
        case .backendKey(let key):
            precondition((CancelKey.minimumSecretLength...CancelKey.maximumSecretLength).contains(key.secret.count))
        case .errorBeforeAuth:
            precondition(!whole.authenticationStarted)
        default:
            break
        }
    }
    if let last = expected.last {
        switch last {
        case .readyForQuery, .notPostgres, .encryptionAccepted, .errorBeforeAuth:
            precondition(whole.isFinished)
        default:
            break
        }
    }
}

/// Fields parsed from any body, rebuilt and parsed again, come back unchanged.
private func checkErrorFields(_ bytes: [UInt8]) {
    let fields = ErrorFields(body: bytes)
    let rebuilt = PostgresMessages.errorResponse(fields)
    let again = ErrorFields(body: rebuilt.dropFirst(5))
    let expected = ErrorFields(body: PostgresMessages.errorResponse(again).dropFirst(5))
    precondition(again == expected, "ErrorFields do not survive a second round trip")
    precondition(again.fields.count == fields.fields.count)
}
