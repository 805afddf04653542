import Glibc
import PosixIO
import Synchronization
import SwitchmanCore

/// PostgreSQL's wire protocol on blocking test sockets: just enough of a client and a server.
enum Wire {
    /// A start-up packet (length-prefixed, no type byte).
    static func readPacket(_ fd: Int32) throws -> [UInt8] {
        let header = try TestSocket.readExactly(fd, 4)
        let length = Int(UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3]))
        return header + (try TestSocket.readExactly(fd, max(0, length - 4)))
    }

    /// One typed message: type, body and all its bytes.
    static func readMessage(_ fd: Int32) throws -> (type: UInt8, body: [UInt8], raw: [UInt8]) {
        let header = try TestSocket.readExactly(fd, 5)
        let length = Int(UInt32(header[1]) << 24 | UInt32(header[2]) << 16 | UInt32(header[3]) << 8 | UInt32(header[4]))
        let body = try TestSocket.readExactly(fd, max(0, length - 4))
        return (header[0], body, header + body)
    }

    /// Messages until ReadyForQuery or an ErrorResponse; returns their bytes and the events a parser saw.
    static func readStartupAnswer(_ fd: Int32) throws -> (raw: [UInt8], events: [ServerStartupEvent]) {
        var raw: [UInt8] = []
        var parser = PostgresServerStartupParser()
        var events: [ServerStartupEvent] = []
        while true {
            let message = try readMessage(fd)
            raw += message.raw
            events += parser.feed(message.raw)
            if message.type == UInt8(ascii: "Z") || message.type == UInt8(ascii: "E") { return (raw, events) }
        }
    }

    static func startup(user: String = "alice", database: String = "app") -> [UInt8] {
        PostgresMessages.startupMessage(parameters: [("user", user), ("database", database)])
    }

    static func message(_ type: Character, _ body: [UInt8]) -> [UInt8] {
        let length = UInt32(body.count + 4)
        return [type.asciiValue!, UInt8(length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + body
    }

    static func int32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
    }

    static func authentication(_ code: UInt32) -> [UInt8] { message("R", int32(code)) }
    static func backendKey(_ key: CancelKey) -> [UInt8] { message("K", int32(key.processID) + key.secret) }
    static func parameterStatus(_ name: String, _ value: String) -> [UInt8] {
        message("S", Array(name.utf8) + [0] + Array(value.utf8) + [0])
    }
    static let readyForQuery = message("Z", [UInt8(ascii: "I")])

    /// The first ErrorResponse among `events`, before or after authentication.
    static func error(in events: [ServerStartupEvent]) -> ErrorFields? {
        for event in events {
            switch event {
            case .errorBeforeAuth(let fields), .error(let fields): return fields
            default: continue
            }
        }
        return nil
    }

    /// The BackendKeyData among `events`.
    static func key(in events: [ServerStartupEvent]) -> CancelKey? {
        for case .backendKey(let key) in events { return key }
        return nil
    }
}

/// A scripted PostgreSQL server on a test socket: answers encryption requests with `encryptionAnswer`
/// (`S`/`G`: then it echoes whatever follows, as a stand-in for TLS), records cancel requests and
/// start-ups, and runs `onStartup` for each StartupMessage.
final class FakePostgres: Sendable {
    let server: TestServer
    /// Keys of the cancel requests received.
    let cancels = Mutex<[CancelKey]>([])
    /// StartupMessages received (all their bytes).
    let startups = Mutex<[[UInt8]]>([])
    var port: UInt16 { server.port }

    init(encryptionAnswer: UInt8 = UInt8(ascii: "N"), onStartup: @escaping @Sendable (Int32, FakePostgres) -> Void) throws {
        let box = Mutex<FakePostgres?>(nil)
        server = try TestServer { fd in
            guard let me = box.withLock({ $0 }) else { return }
            me.serve(fd, encryptionAnswer: encryptionAnswer, onStartup: onStartup)
        }
        box.withLock { $0 = self }
    }

    private func serve(_ fd: Int32, encryptionAnswer: UInt8, onStartup: (Int32, FakePostgres) -> Void) {
        while let packet = try? Wire.readPacket(fd) {
            switch PostgresStartupParser.parse(packet) {
            case .packet(.sslRequest, _), .packet(.gssEncRequest, _):
                try? TestSocket.writeAll(fd, [encryptionAnswer])
                if encryptionAnswer != UInt8(ascii: "N") {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
                        if n <= 0 { return }
                        try? TestSocket.writeAll(fd, Array(buffer[0..<n]))
                    }
                }
            case .packet(.cancelRequest(let key), _):
                cancels.withLock { $0.append(key) }
                return
            case .packet(.startup, _):
                startups.withLock { $0.append(packet) }
                onStartup(fd, self)
                return
            default:
                return
            }
        }
    }

    func stop() { server.stop() }

    /// A node that accepts every start-up: AuthenticationOk, a parameter, `key(n)` for the n-th
    /// session, ReadyForQuery; then it holds the session open until the client leaves.
    static func accepting(keyBase: UInt32) throws -> FakePostgres {
        let counter = Atomic<UInt32>(0)
        return try FakePostgres { fd, _ in
            let n = counter.add(1, ordering: .relaxed).newValue
            let key = CancelKey(processID: keyBase + n, secret: Wire.int32(keyBase &* 31 &+ n))
            try? TestSocket.writeAll(
                fd, Wire.authentication(0) + Wire.parameterStatus("server_version", "15.0") + Wire.backendKey(key) + Wire.readyForQuery)
            _ = try? TestSocket.readToEnd(fd)
        }
    }

    /// A node that answers every start-up with an early FATAL error (57P03: shutting down) and closes.
    static func refusing(sqlstate: String = "57P03", message: String = "the database system is shutting down") throws -> FakePostgres {
        try FakePostgres { fd, _ in
            try? TestSocket.writeAll(fd, PostgresMessages.errorResponse(sqlstate: sqlstate, message: message))
        }
    }
}
