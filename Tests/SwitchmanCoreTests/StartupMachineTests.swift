import Testing

@testable import SwitchmanCore

private typealias Fixtures = PostgresProtocolFixtures
private typealias Action = StartupMachine.Action

/// A typed server message built by hand: type + length field + body.
private func message(_ type: Character, _ body: [UInt8] = []) -> [UInt8] {
    let total = UInt32(4 + body.count)
    return [UInt8(ascii: type.unicodeScalars.first ?? "?"), UInt8(truncatingIfNeeded: total >> 24),
            UInt8(truncatingIfNeeded: total >> 16), UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total)]
        + body
}

private let second: UInt64 = 1_000_000_000
private let answerTimeout = 5 * second
private let firstPacketDeadline = 10 * second
private let startup = PostgresMessages.startupMessage(parameters: [("user", "alice"), ("database", "app")])
private let md5Request = message("R", [0, 0, 0, 5, 1, 2, 3, 4])
private let authenticationOk = message("R", [0, 0, 0, 0])
private let key = CancelKey(processID: 42, secret: [9, 8, 7, 6])
private let backendKey = message("K", [0, 0, 0, 42, 9, 8, 7, 6])
private let readyForQuery = message("Z", [UInt8(ascii: "I")])
private let notice = PostgresMessages.errorResponse(severity: "NOTICE", sqlstate: "00000", message: "hello").enumerated()
    .map { $0.offset == 0 ? UInt8(ascii: "N") : $0.element }
private let refusalError = PostgresMessages.errorResponse(sqlstate: "57P03", message: "switchman: no node")
private let abandonError = PostgresMessages.errorResponse(sqlstate: "57P01", message: "switchman: node1 left the route")
private let cancel = PostgresMessages.cancelRequest(key)
private let httpRequest = Array("GET / HTTP/1.1\r\n\r\n".utf8)

/// One event fed to the machine and what must follow: the actions, and (when given) the outbox.
struct StartupStep: Sendable {
    let event: StartupMachine.Event
    var at: UInt64 = 0
    var canReplay = true
    let expect: [StartupMachine.Action]
    var forServer: [UInt8]?
    var forClient: [UInt8]?
    var flushable: Int?
    var readsClient: Bool?
    var mayMove: Bool?
    /// ``StartupMachine/clientSpeaksPlainPostgres`` after the step.
    var plainPostgres: Bool?
}

struct StartupScenario: Sendable, CustomTestStringConvertible {
    let name: String
    var choosesServerAtOnce = false
    /// Expected result of `start()`.
    var started: [StartupMachine.Action] = [.armTimer(firstPacketDeadline)]
    let steps: [StartupStep]
    var testDescription: String { name }
}

/// A StartupMessage read, a node connected and the message written to it: the common opening.
private let startupSent: [StartupStep] = [
    StartupStep(event: .clientBytes(startup), expect: [.chooseServer], readsClient: false),
    StartupStep(event: .connected, expect: [.armTimer(answerTimeout)], forServer: startup),
    StartupStep(event: .sentToServer(startup.count), expect: [], forServer: [], mayMove: true),
]

struct StartupMachineTests {
    static let scenarios: [StartupScenario] = [
        StartupScenario(
            name: "a static listener's session asks for a server before the client says anything",
            choosesServerAtOnce: true,
            started: [.armTimer(firstPacketDeadline), .chooseServer],
            steps: [StartupStep(event: .clientBytes(startup), expect: [], readsClient: false)]
        ),
        StartupScenario(
            name: "a cluster listener's session asks for a server only once its StartupMessage is complete",
            steps: [
                StartupStep(event: .clientBytes(Array(startup[0..<10])), expect: [], readsClient: true),
                StartupStep(event: .clientBytes(Array(startup[10...])), expect: [.chooseServer], readsClient: false),
            ]
        ),
        StartupScenario(
            name: "the node's answer is held until its authentication request, then flushed",
            steps: startupSent + [
                StartupStep(event: .serverBytes(notice), expect: [], forClient: notice, flushable: 0),
                StartupStep(event: .serverBytes(md5Request), expect: [], forClient: notice + md5Request,
                     flushable: notice.count + md5Request.count, mayMove: false),
            ]
        ),
        StartupScenario(
            name: "a node dropped after its authentication request: the client gets the error after what it received, then the close",
            steps: startupSent + [
                StartupStep(event: .serverBytes(md5Request), expect: [], flushable: md5Request.count, mayMove: false),
                StartupStep(event: .sentToClient(md5Request.count), expect: [], forClient: [], readsClient: true),
                StartupStep(event: .abandon(.routeChanged("node1 left the route"), errorResponse: abandonError), at: second,
                            expect: [.armTimer(3 * second)], forServer: [], forClient: abandonError,
                            flushable: abandonError.count, readsClient: false),
                StartupStep(event: .serverBytes(authenticationOk), expect: [], forClient: abandonError),
                StartupStep(event: .sentToClient(abandonError.count), expect: [.close(.routeChanged("node1 left the route"))]),
            ]
        ),
        StartupScenario(
            name: "a node dropped in the middle of one of its messages: closed without a word (an error cannot be spliced in)",
            steps: startupSent + [
                StartupStep(event: .serverBytes(md5Request + Array(authenticationOk[0..<3])), expect: []),
                StartupStep(event: .abandon(.routeChanged("node1 left the route"), errorResponse: abandonError),
                            expect: [.close(.routeChanged("node1 left the route"))]),
            ]
        ),
        StartupScenario(
            name: "a 57P03 before authentication asks for a replay, and the next node gets the StartupMessage again",
            steps: startupSent + [
                StartupStep(event: .serverBytes(notice + Fixtures.startingUp),
                     expect: [.replay(.cannotConnectNow("the database system is starting up"))], flushable: 0),
                StartupStep(event: .detached, expect: [], forServer: [], forClient: []),
                StartupStep(event: .connected, at: second, expect: [.armTimer(second + answerTimeout)], forServer: startup),
            ]
        ),
        StartupScenario(
            name: "a 57P03 with no replay budget left is forwarded, then the pumps take over",
            steps: startupSent + [
                StartupStep(event: .serverBytes(Fixtures.startingUp), canReplay: false, expect: [],
                     flushable: Fixtures.startingUp.count, mayMove: false),
                StartupStep(event: .sentToClient(Fixtures.startingUp.count), expect: [.handOff]),
            ]
        ),
        StartupScenario(
            name: "a node that closes before answering asks for a replay",
            steps: startupSent + [StartupStep(event: .serverEndOfFile, expect: [.replay(.closedBeforeAnswering)])]
        ),
        StartupScenario(
            name: "a node that closes before answering with no budget left hands the end of file to the pumps",
            steps: startupSent + [StartupStep(event: .serverEndOfFile, canReplay: false, expect: [.handOff])]
        ),
        StartupScenario(
            name: "a failed read on a node that did not answer, with no budget left, closes with the server's error",
            steps: startupSent + [
                StartupStep(event: .serverFailed("reset"), canReplay: false, expect: [.close(.error("server: reset"))]),
            ]
        ),
        StartupScenario(
            name: "a failed read on a node that did not answer asks for a replay while the budget lasts",
            steps: startupSent + [StartupStep(event: .serverFailed("reset"), expect: [.replay(.failed("reset"))])]
        ),
        StartupScenario(
            name: "a node silent past the answer timeout is replayed while the budget lasts",
            steps: startupSent + [
                StartupStep(event: .timer, at: answerTimeout - 1, expect: [.armTimer(answerTimeout)]),
                StartupStep(event: .timer, at: answerTimeout, expect: [.replay(.noAnswer)]),
            ]
        ),
        StartupScenario(
            name: "a node silent past the answer timeout with no budget left is given up",
            steps: startupSent + [StartupStep(event: .timer, at: answerTimeout, canReplay: false, expect: [.giveUp(.noAnswer)])]
        ),
        StartupScenario(
            name: "an error after authentication started is forwarded, never replayed",
            steps: startupSent + [
                StartupStep(event: .serverBytes(md5Request), expect: [], mayMove: false),
                StartupStep(event: .serverBytes(Fixtures.startingUp), expect: [],
                     flushable: md5Request.count + Fixtures.startingUp.count),
            ]
        ),
        StartupScenario(
            name: "more than 64 KiB held commits the session to its node",
            steps: startupSent + [
                StartupStep(event: .serverBytes(Array(repeating: notice, count: 2_000).flatMap { $0 }), expect: [], mayMove: false),
            ]
        ),
        StartupScenario(
            name: "BackendKeyData is recorded and ReadyForQuery hands off once the answer is written",
            steps: startupSent + [
                StartupStep(event: .serverBytes(authenticationOk + backendKey + readyForQuery), expect: [.recordCancelKey(key)]),
                StartupStep(event: .sentToClient(authenticationOk.count + backendKey.count + readyForQuery.count), expect: [.handOff],
                            plainPostgres: true),
            ]
        ),
        StartupScenario(
            name: "an SSLRequest goes to the node, its N comes back and the next StartupMessage follows",
            steps: [
                StartupStep(event: .clientBytes(PostgresMessages.sslRequest), expect: [.chooseServer]),
                StartupStep(event: .connected, expect: [.armTimer(answerTimeout)], forServer: PostgresMessages.sslRequest),
                StartupStep(event: .sentToServer(PostgresMessages.sslRequest.count), expect: [], readsClient: false),
                StartupStep(event: .serverBytes(Array("N".utf8)), expect: [], flushable: 1, readsClient: true),
                StartupStep(event: .sentToClient(1), expect: []),
                StartupStep(event: .clientBytes(startup), at: second, expect: [.armTimer(second + answerTimeout)], forServer: startup),
            ]
        ),
        StartupScenario(
            name: "a StartupMessage sent right after the SSLRequest is queued once the node answers N",
            steps: [
                StartupStep(event: .clientBytes(PostgresMessages.sslRequest + startup), expect: [.chooseServer]),
                StartupStep(event: .connected, expect: [.armTimer(answerTimeout)], forServer: PostgresMessages.sslRequest),
                StartupStep(event: .sentToServer(PostgresMessages.sslRequest.count), expect: []),
                StartupStep(event: .serverBytes(Array("N".utf8)), expect: [.armTimer(answerTimeout)], forServer: startup, flushable: 1),
            ]
        ),
        StartupScenario(
            name: "the node's S ends sniffing and hands off once the S is written",
            steps: [
                StartupStep(event: .clientBytes(PostgresMessages.sslRequest), expect: [.chooseServer]),
                StartupStep(event: .connected, expect: [.armTimer(answerTimeout)]),
                StartupStep(event: .sentToServer(PostgresMessages.sslRequest.count), expect: []),
                StartupStep(event: .serverBytes(Array("S".utf8)), expect: [], flushable: 1, mayMove: false),
                StartupStep(event: .sentToClient(1), expect: [.handOff], plainPostgres: false),
            ]
        ),
        StartupScenario(
            name: "a CancelRequest as first packet is forwarded without a server, and nothing follows",
            steps: [
                StartupStep(event: .clientBytes(cancel), expect: [.forwardCancel(key, packet: cancel)]),
                StartupStep(event: .connected, expect: []),
            ]
        ),
        StartupScenario(
            name: "a client that is not PostgreSQL gets a server and its bytes go to it untouched",
            steps: [
                StartupStep(event: .clientBytes(httpRequest), expect: [.chooseServer], forServer: httpRequest, mayMove: false),
                StartupStep(event: .connected, expect: []),
                StartupStep(event: .sentToServer(httpRequest.count), expect: [.handOff], plainPostgres: false),
            ]
        ),
        StartupScenario(
            name: "a server that speaks before the client ends sniffing",
            choosesServerAtOnce: true,
            started: [.armTimer(firstPacketDeadline), .chooseServer],
            steps: [
                StartupStep(event: .connected, expect: []),
                StartupStep(event: .serverBytes(Array("220 ready\r\n".utf8)), expect: [], flushable: 11),
                StartupStep(event: .sentToClient(11), expect: [.handOff], plainPostgres: false),
            ]
        ),
        StartupScenario(
            name: "no complete first packet within the wait: what came goes to a server, unsniffed",
            steps: [
                StartupStep(event: .clientBytes(Array(startup[0..<6])), expect: []),
                StartupStep(event: .timer, at: firstPacketDeadline - 1, expect: [.armTimer(firstPacketDeadline)]),
                StartupStep(event: .timer, at: firstPacketDeadline, expect: [.chooseServer], forServer: Array(startup[0..<6])),
            ]
        ),
        StartupScenario(
            name: "a refused SSLRequest is answered N, the StartupMessage gets the ErrorResponse, then the close",
            steps: [
                StartupStep(event: .clientBytes(PostgresMessages.sslRequest), expect: [.chooseServer]),
                StartupStep(event: .refuse(.noBackend("no node"), errorResponse: refusalError), at: second,
                     expect: [.armTimer(3 * second)], forClient: Array("N".utf8), readsClient: true),
                StartupStep(event: .sentToClient(1), expect: []),
                StartupStep(event: .clientBytes(startup), expect: [], forClient: refusalError, flushable: refusalError.count),
                StartupStep(event: .sentToClient(refusalError.count), expect: [.close(.noBackend("no node"))]),
            ]
        ),
        StartupScenario(
            name: "a refused client silent for the grace period is closed with the refusal's reason",
            steps: [
                StartupStep(event: .refuse(.connectFailed("refused"), errorResponse: refusalError), expect: [.armTimer(2 * second)]),
                StartupStep(event: .timer, at: 2 * second - 1, expect: [.armTimer(2 * second)]),
                StartupStep(event: .timer, at: 2 * second, expect: [.close(.connectFailed("refused"))]),
            ]
        ),
        StartupScenario(
            name: "a refused client that hangs up is closed with the refusal's reason",
            steps: [
                StartupStep(event: .refuse(.noBackend("no node"), errorResponse: refusalError), expect: [.armTimer(2 * second)]),
                StartupStep(event: .clientHungUp, expect: [.close(.noBackend("no node"))]),
            ]
        ),
        StartupScenario(
            name: "a client that closes before its first packet ends the session",
            steps: [StartupStep(event: .clientEndOfFile, expect: [.close(.clientClosed)])]
        ),
        StartupScenario(
            name: "a client that closes while waiting for its node ends the session",
            steps: [
                StartupStep(event: .clientBytes(startup), expect: [.chooseServer]),
                StartupStep(event: .clientEndOfFile, expect: [.close(.clientClosed)]),
            ]
        ),
        StartupScenario(
            name: "a client that closes after a partial first packet gets its bytes sent on, unsniffed",
            steps: [
                StartupStep(event: .clientBytes(Array(startup[0..<6])), expect: []),
                StartupStep(event: .clientEndOfFile, expect: [.chooseServer], forServer: Array(startup[0..<6])),
                StartupStep(event: .clientEndOfFile, expect: []),
            ]
        ),
        StartupScenario(
            name: "a client whose write fails closes the session with the error",
            steps: startupSent + [StartupStep(event: .clientFailed("broken pipe"), expect: [.close(.error("client: broken pipe"))])]
        ),
        StartupScenario(
            name: "the client's authentication bytes are read only once nothing of the node is held",
            steps: startupSent + [
                StartupStep(event: .serverBytes(notice), expect: [], readsClient: false),
                StartupStep(event: .serverBytes(md5Request), expect: [], readsClient: true),
                StartupStep(event: .clientBytes(Array("p-password".utf8)), expect: [], forServer: Array("p-password".utf8),
                     readsClient: false),
            ]
        ),
    ]

    @Test(arguments: scenarios)
    func machineFollowsTheScript(_ scenario: StartupScenario) {
        let machine = StartupMachine(now: 0, choosesServerAtOnce: scenario.choosesServerAtOnce, answerTimeout: answerTimeout)
        #expect(machine.start() == scenario.started)
        for (index, step) in scenario.steps.enumerated() {
            let actions = machine.handle(step.event, now: step.at, canReplay: step.canReplay)
            #expect(actions == step.expect, "step \(index): \(step.event)")
            if let forServer = step.forServer { #expect(machine.bytesForServer == forServer, "step \(index)") }
            if let forClient = step.forClient { #expect(machine.bytesForClient == forClient, "step \(index)") }
            if let flushable = step.flushable { #expect(machine.flushableToClient == flushable, "step \(index)") }
            if let readsClient = step.readsClient { #expect(machine.readsClient == readsClient, "step \(index)") }
            if let mayMove = step.mayMove { #expect(machine.mayMoveToAnotherNode == mayMove, "step \(index)") }
            if let plain = step.plainPostgres { #expect(machine.clientSpeaksPlainPostgres == plain, "step \(index)") }
        }
    }

    @Test func replayBudgetIsAskedOnlyWhenANodeIsLost() {
        let machine = StartupMachine(now: 0, choosesServerAtOnce: false, answerTimeout: answerTimeout)
        var asked = 0
        func budget() -> Bool { asked += 1; return true }
        _ = machine.start()
        _ = machine.handle(.clientBytes(startup), now: 0, canReplay: budget())
        _ = machine.handle(.connected, now: 0, canReplay: budget())
        _ = machine.handle(.sentToServer(startup.count), now: 0, canReplay: budget())
        _ = machine.handle(.serverBytes(notice), now: 0, canReplay: budget())
        #expect(asked == 0)
        #expect(machine.handle(.serverEndOfFile, now: 0, canReplay: budget()) == [.replay(.closedBeforeAnswering)])
        #expect(asked == 1)
    }

    @Test func firstActionsAreWhatAFreshMachineStartsWith() {
        for atOnce in [false, true] {
            let machine = StartupMachine(now: 7 * second, choosesServerAtOnce: atOnce, answerTimeout: answerTimeout)
            #expect(StartupMachine.firstActions(now: 7 * second, choosesServerAtOnce: atOnce) == machine.start())
        }
        #expect(StartupMachine.firstPacketDeadline(madeAt: 7 * second) == 7 * second + firstPacketDeadline)
    }

    /// What the session relies on to make its machine only when the first event that needs it
    /// arrives: a machine made then, from the accept time, and told of the node connected since,
    /// acts as one made at accept that also saw the quiet events (connects, detaches, early timers).
    @Test(arguments: [false, true])
    func aMachineMadeLateActsAsOneMadeAtAccept(connected: Bool) {
        let quiet: [(StartupMachine.Event, UInt64)] =
            connected
            ? [(.connected, 0), (.timer, 4 * second), (.detached, 4 * second), (.connected, 5 * second), (.timer, 6 * second)]
            : [(.timer, 4 * second), (.connected, 5 * second), (.detached, 5 * second), (.timer, 6 * second)]
        let sslRequest = PostgresMessages.sslRequest
        let continuations: [[(StartupMachine.Event, UInt64)]] = [
            [(.clientBytes(startup), 7 * second), (.sentToServer(startup.count), 7 * second), (.serverBytes(md5Request), 8 * second)],
            [(.clientBytes(Array(startup[0..<5])), 7 * second), (.clientBytes(Array(startup[5...])), 7 * second)],
            [(.clientBytes(cancel), 7 * second)],
            [(.clientBytes(httpRequest), 7 * second), (.sentToServer(httpRequest.count), 7 * second)],
            [(.clientBytes(sslRequest), 7 * second), (.sentToServer(sslRequest.count), 7 * second), (.serverBytes([UInt8(ascii: "S")]), 7 * second)],
            [(.serverBytes(httpRequest), 7 * second)],
            [(.serverEndOfFile, 7 * second)],
            [(.timer, firstPacketDeadline)],
            [(.clientEndOfFile, 7 * second)],
            [(.clientHungUp, 7 * second)],
            [(.clientFailed("reset"), 7 * second)],
            [(.serverFailed("reset"), 7 * second)],
            [(.refuse(.noBackend("none"), errorResponse: refusalError), 7 * second), (.clientBytes(startup), 7 * second)],
        ]
        for (index, continuation) in continuations.enumerated() {
            let early = StartupMachine(now: 0, choosesServerAtOnce: connected, answerTimeout: answerTimeout)
            _ = early.start()
            for (event, at) in quiet { _ = early.handle(event, now: at, canReplay: true) }
            let late = StartupMachine(now: 0, choosesServerAtOnce: connected, answerTimeout: answerTimeout)
            if connected { #expect(late.handle(.connected, now: 7 * second, canReplay: true) == []) }
            for (scripted, at) in continuation {
                // A write reports what the outbox held (nothing, while no node is connected).
                var event = scripted
                if case .sentToServer = scripted {
                    guard !early.bytesForServer.isEmpty else { continue }
                    event = .sentToServer(early.bytesForServer.count)
                }
                let expected = early.handle(event, now: at, canReplay: true)
                #expect(late.handle(event, now: at, canReplay: true) == expected, "continuation \(index): \(event)")
                #expect(late.bytesForServer == early.bytesForServer, "continuation \(index)")
                #expect(late.bytesForClient == early.bytesForClient, "continuation \(index)")
                #expect(late.flushableToClient == early.flushableToClient, "continuation \(index)")
                #expect(late.readsClient == early.readsClient, "continuation \(index)")
                #expect(late.readsServer == early.readsServer, "continuation \(index)")
                #expect(late.mayRefuse == early.mayRefuse, "continuation \(index)")
                #expect(late.mayMoveToAnotherNode == early.mayMoveToAnotherNode, "continuation \(index)")
                #expect(late.isFinished == early.isFinished, "continuation \(index)")
            }
        }
    }

    @Test func aFinishedMachineIgnoresEveryLaterEvent() {
        let machine = StartupMachine(now: 0, choosesServerAtOnce: false, answerTimeout: answerTimeout)
        _ = machine.start()
        #expect(machine.handle(.clientEndOfFile, now: 0, canReplay: true) == [.close(.clientClosed)])
        #expect(machine.isFinished)
        #expect(machine.handle(.clientBytes(startup), now: 0, canReplay: true) == [])
        #expect(!machine.readsClient)
    }
}
