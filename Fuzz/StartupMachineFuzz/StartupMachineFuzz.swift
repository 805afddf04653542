// libFuzzer harness for the start-up state machine (`StartupMachine`), driven the way a session
// drives it. Built by scripts/fuzz.sh against an instrumented SwitchmanCore.
//
// The input is a program: each byte picks a step (the client or a node writes a PostgreSQL message
// or raw bytes, the session reads a chunk, writes part of the outbox, a node connects, a route
// changes, the session refuses, the timer fires, the budget runs out …) and the next bytes are its
// arguments. A step the session could not take in the machine's state (read while `readsClient` is
// false, write more than `flushableToClient`, connect with no server asked for) is skipped, so
// every event fed is one a real session could feed. The harness answers the machine's actions the
// way Session+Startup.swift does (a replay or give-up detaches at once, a give-up then refuses).
//
// What the machine must never do (each a `require`, so a violation is a crash libFuzzer reports):
// - act after it finished (forward a cancel, hand off, close), or give two terminal actions at once,
//   or one that is not the last of its list;
// - ask for a server twice, or once the session refused;
// - replay or give up a node while none is connected, or while refusing;
// - hand off while no node is connected, while refusing, or with bytes left in its outbox; at the
//   hand-off the node has received everything the client sent (ending with the client's last
//   byte, one contiguous piece of the client's stream) and the client everything the node sent;
// - record a cancel key with no node, or a secret of a length PostgreSQL does not send;
// - arm a timer in the past;
// - let the session read the node while none is connected, or offer more bytes than it holds;
// - close a refused session for another reason than the refusal's;
// - go on using a side that failed (a failed read or write ends the session or drops the node).

import Foundation
@testable import SwitchmanCore

/// Entry point libFuzzer calls once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStartupMachine(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    var program = Program(bytes)
    var session = SimulatedSession(choosesServerAtOnce: program.next() & 1 == 1)
    // Bounded: every step consumes at least one byte of the input.
    while !session.over, !program.isAtEnd {
        session.step(&program)
    }
    return 0
}

/// The fuzzer's bytes, read front to back; past the end every read is 0.
struct Program {
    private let bytes: [UInt8]
    private var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var isAtEnd: Bool { index >= bytes.count }
    mutating func next() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }
    mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + count)
        defer { index = end }
        return Array(bytes[index..<end])
    }
}

/// Messages worth sending whole, so the fuzzer reaches deep states without guessing lengths.
enum Messages {
    static func message(_ type: Character, _ body: [UInt8] = []) -> [UInt8] {
        let total = UInt32(4 + body.count)
        return [UInt8(ascii: type.unicodeScalars.first ?? "?"), UInt8(truncatingIfNeeded: total >> 24),
                UInt8(truncatingIfNeeded: total >> 16), UInt8(truncatingIfNeeded: total >> 8),
                UInt8(truncatingIfNeeded: total)] + body
    }
    static let client: [[UInt8]] = [
        PostgresMessages.startupMessage(parameters: [("user", "alice"), ("database", "app")]),
        PostgresMessages.sslRequest,
        PostgresMessages.gssEncRequest,
        PostgresMessages.cancelRequest(CancelKey(processID: 42, secret: [9, 8, 7, 6])),
        message("p", Array("md5secret\0".utf8)),
        Array("GET / HTTP/1.1\r\n\r\n".utf8),
        message("X"),
    ]
    static let server: [[UInt8]] = [
        Array("N".utf8), Array("S".utf8), Array("G".utf8),
        message("R", [0, 0, 0, 5, 1, 2, 3, 4]),  // MD5 password request
        message("R", [0, 0, 0, 0]),  // AuthenticationOk
        message("K", [0, 0, 0, 42, 9, 8, 7, 6]),  // BackendKeyData
        message("Z", [UInt8(ascii: "I")]),  // ReadyForQuery
        message("S", Array("server_version\015.4\0".utf8)),
        PostgresMessages.errorResponse(sqlstate: "57P03", message: "the database system is starting up"),
        PostgresMessages.errorResponse(sqlstate: "28P01", message: "password authentication failed"),
        PostgresMessages.errorResponse(severity: "NOTICE", sqlstate: "00000", message: "hello").enumerated()
            .map { $0.offset == 0 ? UInt8(ascii: "N") : $0.element },
        message("v", [0, 0, 0, 0, 0, 0, 0, 0]),
        Array("SSH-2.0-OpenSSH_9.2\r\n".utf8),
    ]
}

/// A session around one machine: its sockets are byte queues, its choices come from the program.
struct SimulatedSession {
    typealias Action = StartupMachine.Action

    let machine: StartupMachine
    private(set) var over = false
    private var now: UInt64 = 1_000
    private var canReplay = true

    // The client: what it wrote and the session has not read yet; whether it shut its side.
    private var clientQueue: [UInt8] = []
    private var clientShut = false
    /// Every byte the machine was given from the client.
    private var clientStream: [UInt8] = []
    /// Every byte the session wrote to the client.
    private var clientReceived: [UInt8] = []

    // The node.
    private var connected = false
    /// The session is choosing a server (asked for one, or replaying): a connect may complete.
    private var choosing = false
    private var serverQueue: [UInt8] = []
    private var serverShut = false
    /// What the current node sent that the machine was given, and what the session wrote to it.
    private var serverSent: [UInt8] = []
    private var serverReceived: [UInt8] = []

    private var serversAsked = 0
    private var refusal: SessionEnd?

    init(choosesServerAtOnce: Bool) {
        machine = StartupMachine(now: now, choosesServerAtOnce: choosesServerAtOnce, answerTimeout: 5_000_000_000)
        perform(machine.start(), after: nil)
    }

    mutating func step(_ program: inout Program) {
        let op = program.next() % 20
        switch op {
        case 0, 1:  // The client writes a whole message, or raw bytes.
            guard !clientShut else { return }
            if op == 0 {
                clientQueue += Messages.client[Int(program.next()) % Messages.client.count]
            } else {
                clientQueue += program.take(Int(program.next() % 24) + 1)
            }
        case 2:  // The session reads the client: a chunk, or its end of file.
            guard machine.readsClient else { return }
            if !clientQueue.isEmpty {
                let chunk = Array(clientQueue.prefix(Int(program.next() % 64) + 1))
                clientQueue.removeFirst(chunk.count)
                clientStream += chunk
                feed(.clientBytes(chunk))
            } else if clientShut {
                feed(.clientEndOfFile)
            }
        case 3:  // The client shuts its side; seen at once when nothing is to be read.
            clientShut = true
            if clientQueue.isEmpty && !machine.readsClient && !connected { feed(.clientEndOfFile) }
        case 4:  // The client's socket hangs up or fails while no node is connected.
            guard !connected else { return }
            feed(.clientHungUp)
        case 5:
            feed(.clientFailed("reset"))
        case 6, 7:  // The node writes a whole message, or raw bytes.
            guard connected, !serverShut else { return }
            if op == 6 {
                serverQueue += Messages.server[Int(program.next()) % Messages.server.count]
            } else {
                serverQueue += program.take(Int(program.next() % 24) + 1)
            }
        case 8:  // The session reads the node.
            guard machine.readsServer else { return }
            require(connected, "readsServer with no node connected")
            if !serverQueue.isEmpty {
                let chunk = Array(serverQueue.prefix(Int(program.next() % 64) + 1))
                serverQueue.removeFirst(chunk.count)
                serverSent += chunk
                feed(.serverBytes(chunk))
            } else if serverShut {
                feed(.serverEndOfFile)
            }
        case 9:
            guard connected else { return }
            serverShut = true
        case 10:
            guard connected else { return }
            feed(.serverFailed("reset"))
        case 11:  // The session writes part of the bytes for the node.
            let pending = machine.bytesForServer.count
            guard connected, pending > 0 else { return }
            let n = min(pending, Int(program.next()) + 1)
            serverReceived += machine.bytesForServer.prefix(n)
            feed(.sentToServer(n))
        case 12:  // The session writes part of the bytes for the client.
            let flushable = machine.flushableToClient
            require(flushable <= machine.bytesForClient.count, "flushable \(flushable) > \(machine.bytesForClient.count)")
            guard connected || refusal != nil, flushable > 0 else { return }
            let n = min(flushable, Int(program.next()) + 1)
            clientReceived += machine.bytesForClient.prefix(n)
            feed(.sentToClient(n))
        case 13:  // Time passes; the timer fires (early or late: the session's timer is shared).
            now += UInt64(program.next()) * 100_000_000
            feed(.timer)
        case 14:  // A connect completes.
            guard choosing, !connected, refusal == nil else { return }
            choosing = false
            connected = true
            serverQueue = []
            serverShut = false
            serverSent = []
            serverReceived = []
            feed(.connected)
        case 15:  // A route change moves a session nothing binds to its node yet.
            guard connected, machine.mayMoveToAnotherNode else { return }
            detach()
            choosing = true
        case 16:  // The session finds no server (hold or queue timeout) and refuses the client.
            guard !connected, choosing, refusal == nil, machine.mayRefuse else { return }
            choosing = false
            refuse()
        case 17:
            canReplay.toggle()
        case 18:  // A connect fails before it completes: the session retries or refuses later.
            guard choosing, !connected else { return }
            feed(.detached)
        default:
            now += UInt64(program.next()) * 1_000_000
        }
        checkState()
    }

    private mutating func feed(_ event: StartupMachine.Event) {
        guard !over else { return }
        let replay = canReplay
        let actions = machine.handle(event, now: now, canReplay: replay)
        if tracing { print("\(event) → \(actions)") }
        perform(actions, after: event)
    }

    private mutating func detach() {
        connected = false
        serverQueue = []
        feed(.detached)
    }

    private mutating func refuse() {
        let end = SessionEnd.noBackend("no node")
        refusal = end
        feed(.refuse(end, errorResponse: PostgresMessages.errorResponse(sqlstate: "57P03", message: "no node")))
    }

    /// Checks the machine's actions against its contract and answers them as the session does.
    private mutating func perform(_ actions: [Action], after event: StartupMachine.Event?) {
        require(!over || actions.isEmpty, "actions after the end: \(actions)")
        for (index, action) in actions.enumerated() {
            let last = index == actions.count - 1
            switch action {
            case .armTimer(let deadline):
                require(deadline > now, "a timer armed in the past: \(deadline) at \(now)")
            case .chooseServer:
                serversAsked += 1
                require(serversAsked == 1, "a server asked for twice")
                require(refusal == nil, "a server asked for while refusing")
                require(!connected, "a server asked for while one is connected")
                choosing = true
            case .recordCancelKey(let key):
                require(connected, "a cancel key recorded with no node")
                require((CancelKey.minimumSecretLength...CancelKey.maximumSecretLength).contains(key.secret.count))
            case .replay, .giveUp:
                require(last, "\(action) is not the last action")
                require(connected, "\(action) with no node connected")
                require(refusal == nil, "\(action) while refusing")
                detach()
                if case .giveUp = action {
                    if machine.mayRefuse && !machine.isFinished { refuse() } else { finish() }
                } else {
                    choosing = true
                }
            case .forwardCancel(_, let packet):
                require(last, "forwardCancel is not the last action")
                require(machine.isFinished, "forwardCancel left the machine running")
                require(clientStream.count >= packet.count, "a cancel packet the client did not send")
                finish()
            case .handOff:
                require(last, "handOff is not the last action")
                require(machine.isFinished, "handOff left the machine running")
                require(connected, "handOff with no node connected")
                require(refusal == nil, "handOff while refusing")
                require(machine.bytesForServer.isEmpty && machine.bytesForClient.isEmpty, "handOff with bytes in the outbox")
                require(clientStream.ends(with: serverReceived), "the node did not get the client's bytes up to the last one")
                require(clientReceived.ends(with: serverSent), "the client did not get everything the node sent")
                finish()
            case .close(let end):
                require(last, "close is not the last action")
                require(machine.isFinished, "close left the machine running")
                if let refusal {
                    require(end == refusal, "a refused session closed for \(end), not \(refusal)")
                }
                finish()
            }
        }
        switch event {
        case .clientFailed?, .clientHungUp?:
            require(over, "the session goes on after its client failed: \(actions)")
        case .serverFailed?:
            require(over || !connected, "the session goes on with a node that failed: \(actions)")
        default:
            break
        }
    }

    private mutating func finish() {
        over = true
    }

    private func checkState() {
        guard !over else { return }
        require(!machine.isFinished, "the machine finished without a terminal action")
        if machine.readsServer { require(connected, "readsServer with no node connected") }
        require(machine.flushableToClient <= machine.bytesForClient.count)
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }
}

/// STARTUP_FUZZ_TRACE=1 prints every event and the actions it gave (to replay a crash by hand).
let tracing = ProcessInfo.processInfo.environment["STARTUP_FUZZ_TRACE"] != nil

/// `precondition` that prints its message in an optimized build too (then aborts for libFuzzer).
func require(_ condition: Bool, _ message: @autoclosure () -> String = "", line: UInt = #line) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("fuzz invariant broken at line \(line): \(message())\n".utf8))
    abort()
}
