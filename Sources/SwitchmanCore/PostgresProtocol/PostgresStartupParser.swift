/// Recognises the first packet a PostgreSQL client sends: a pure function over bytes, no state.
///
/// Call it with everything read from the client so far (from the start of a packet). Rules follow
/// PostgreSQL 15–18's `ProcessStartupPacket`, with strict limits:
/// - length field 8…10000 (`MAX_STARTUP_PACKET_LENGTH`), else `.notPostgres`;
/// - SSLRequest and GSSENCRequest exactly 8 bytes; CancelRequest 16…268 bytes (4…256-byte secret);
/// - StartupMessage protocol major 3, any minor; parameters are NUL-terminated name/value pairs
///   followed by one more NUL that is the packet's last byte.
///
/// Bytes that cannot be a valid packet are rejected as soon as they are seen (e.g. `GET /` after
/// one byte), so a non-PostgreSQL client is never kept waiting for a packet that will not come.
public enum PostgresStartupParser {
    /// Parses the packet at the start of `bytes`. Looks at most at the first 10000 bytes; never
    /// traps, whatever the input.
    public static func parse(_ bytes: some Collection<UInt8>) -> StartupParseResult {
        if let result = bytes.withContiguousStorageIfAvailable({ parse(buffer: $0) }) {
            return result
        }
        let prefix = Array(bytes.prefix(StartupPacket.maximumLength))
        return prefix.withUnsafeBufferPointer { parse(buffer: $0) }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>) -> StartupParseResult {
        let count = buffer.count
        // Reject a length prefix that cannot reach a valid value, before all four bytes are here:
        // a valid length is at most 10000 = 0x00002710, so the first two bytes must be zero.
        if count < 4 {
            var smallest = 0
            for index in 0..<4 { smallest = smallest << 8 | (index < count ? Int(buffer[index]) : 0) }
            if smallest > StartupPacket.maximumLength { return .notPostgres(.lengthTooLarge(smallest)) }
            return .needMore(minimumBytes: StartupPacket.minimumLength)
        }
        let length = Int(readUInt32(buffer, at: 0))
        if length < StartupPacket.minimumLength { return .notPostgres(.lengthTooSmall(length)) }
        if length > StartupPacket.maximumLength { return .notPostgres(.lengthTooLarge(length)) }
        if count < 8 { return .needMore(minimumBytes: StartupPacket.minimumLength) }

        let code = readUInt32(buffer, at: 4)
        switch code {
        case StartupPacket.sslRequestCode, StartupPacket.gssEncRequestCode:
            guard length == StartupPacket.minimumLength else {
                return .notPostgres(.badRequestLength(code: code, length: length))
            }
            let packet: StartupPacket = code == StartupPacket.sslRequestCode ? .sslRequest : .gssEncRequest
            return .packet(packet, consumedBytes: length)
        case StartupPacket.cancelRequestCode:
            guard (StartupPacket.minimumCancelLength...StartupPacket.maximumCancelLength).contains(length) else {
                return .notPostgres(.badCancelLength(length))
            }
            if count < length { return .needMore(minimumBytes: length) }
            let key = CancelKey(processID: readUInt32(buffer, at: 8), secret: Array(buffer[12..<length]))
            return .packet(.cancelRequest(key), consumedBytes: length)
        default:
            let version = ProtocolVersion(code: code)
            guard version.major == 3 else { return .notPostgres(.unsupportedCode(code)) }
            if count < length { return .needMore(minimumBytes: length) }
            guard let parameters = parseParameters(buffer, from: 8, to: length) else {
                return .notPostgres(.badParameterLayout)
            }
            let message = StartupMessage(protocolVersion: version, parameters: parameters, byteCount: length)
            return .packet(.startup(message), consumedBytes: length)
        }
    }

    /// Pairs of C strings in `buffer[start..<end]`, ended by an empty name that must be the last byte.
    /// nil when a string runs past the end, a name has no value, or bytes follow the terminator.
    private static func parseParameters(
        _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int
    ) -> [StartupMessage.Parameter]? {
        var parameters: [StartupMessage.Parameter] = []
        var offset = start
        while offset < end {
            if buffer[offset] == 0 {
                return offset == end - 1 ? parameters : nil
            }
            guard let nameEnd = indexOfNUL(buffer, from: offset, to: end) else { return nil }
            let valueStart = nameEnd + 1
            guard let valueEnd = indexOfNUL(buffer, from: valueStart, to: end) else { return nil }
            parameters.append(
                StartupMessage.Parameter(
                    name: String(decoding: UnsafeBufferPointer(rebasing: buffer[offset..<nameEnd]), as: UTF8.self),
                    value: String(decoding: UnsafeBufferPointer(rebasing: buffer[valueStart..<valueEnd]), as: UTF8.self)
                )
            )
            offset = valueEnd + 1
        }
        // Ran out of bytes without the final NUL.
        return nil
    }

    private static func indexOfNUL(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        var index = start
        while index < end {
            if buffer[index] == 0 { return index }
            index += 1
        }
        return nil
    }

    private static func readUInt32(_ buffer: UnsafeBufferPointer<UInt8>, at offset: Int) -> UInt32 {
        UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16
            | UInt32(buffer[offset + 2]) << 8 | UInt32(buffer[offset + 3])
    }
}
