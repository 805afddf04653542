import Testing

@testable import SwitchmanCore

/// `client_address: application_name`: the StartupMessage rewrite, byte for byte.
@Suite struct ApplicationNameTagTests {
    private static func packet(_ parameters: [(String, String)]) -> [UInt8] {
        PostgresMessages.startupMessage(parameters: parameters.map { (name: $0.0, value: $0.1) })
    }

    private static func parameters(of packet: [UInt8]) -> [StartupMessage.Parameter]? {
        guard case .packet(.startup(let message), let consumed) = PostgresStartupParser.parse(packet), consumed == packet.count else {
            return nil
        }
        return message.parameters
    }

    @Test func anExistingApplicationNameGainsTheClientAddressAndTheOtherParametersStayInOrder() throws {
        let original = Self.packet([("user", "alice"), ("application_name", "psql"), ("database", "app")])
        let rewritten = try #require(ApplicationNameTag.rewrite(startupPacket: original, client: "127.0.0.1:54321"))
        #expect(Self.parameters(of: rewritten) == [
            .init(name: "user", value: "alice"), .init(name: "application_name", value: "psql [127.0.0.1:54321]"),
            .init(name: "database", value: "app"),
        ])
    }

    @Test func aStartupWithoutApplicationNameGetsOneWithTheAddressAlone() throws {
        let rewritten = try #require(ApplicationNameTag.rewrite(startupPacket: Self.packet([("user", "bob")]), client: "[::1]:5000"))
        #expect(Self.parameters(of: rewritten) == [.init(name: "user", value: "bob"), .init(name: "application_name", value: "[[::1]:5000]")])
    }

    @Test func aSixtyThreeByteNameIsTrimmedSoTheWholeValueFitsInSixtyThreeBytes() throws {
        let long = String(repeating: "a", count: 63)
        let rewritten = try #require(ApplicationNameTag.rewrite(startupPacket: Self.packet([("user", "u"), ("application_name", long)]),
                                                               client: "127.0.0.1:54321"))
        let value = try #require(Self.parameters(of: rewritten)?.last?.value)
        #expect(value.utf8.count == 63)
        #expect(value == String(repeating: "a", count: 63 - " [127.0.0.1:54321]".utf8.count) + " [127.0.0.1:54321]")
    }

    @Test func trimmingNeverCutsAMultiByteCharacter() {
        let suffix = " [127.0.0.1:54321]".utf8.count
        let room = 63 - suffix
        // "é" is 2 bytes: with an odd room, the cut falls inside one and the whole character goes.
        let original = Array(String(repeating: "é", count: 40).utf8)
        let value = ApplicationNameTag.value(original: original, client: "127.0.0.1:54321")
        let kept = value.count - suffix
        #expect(kept == room - room % 2)
        #expect(String(validating: value, as: UTF8.self) != nil)
        // A complete character at the end of the room is kept.
        let ascii = Array(String(repeating: "b", count: room - 2).utf8) + Array("é€".utf8)
        #expect(ApplicationNameTag.value(original: ascii, client: "127.0.0.1:54321").count - suffix == room)
    }

    @Test func bytesThatAreNotUTF8InOtherParametersGoThroughUnchanged() throws {
        var original = Self.packet([("user", "u"), ("options", "xx"), ("application_name", "a")])
        let at = try #require(original.firstIndex(of: UInt8(ascii: "x")))
        original[at] = 0xFF  // invalid UTF-8 inside `options`
        let rewritten = try #require(ApplicationNameTag.rewrite(startupPacket: original, client: "10.0.0.1:1"))
        let options = try #require(rewritten.firstIndex(of: 0xFF))
        #expect(Array(rewritten[options..<(options + 3)]) == [0xFF, UInt8(ascii: "x"), 0])
    }

    @Test func aMalformedPacketIsLeftAlone() {
        var packet = Self.packet([("user", "u"), ("application_name", "a")])
        packet[packet.count - 1] = UInt8(ascii: "z")  // no final zero
        #expect(ApplicationNameTag.rewrite(startupPacket: packet, client: "10.0.0.1:1") == nil)
        #expect(ApplicationNameTag.rewrite(startupPacket: Array(packet.prefix(6)), client: "10.0.0.1:1") == nil)
        var lying = Self.packet([("user", "u")])
        lying[3] &+= 1  // the length field disagrees with the bytes
        #expect(ApplicationNameTag.rewrite(startupPacket: lying, client: "10.0.0.1:1") == nil)
    }

    @Test func theMachineSendsTheTaggedStartupToTheNodeAndAnUntaggedMachineTheClientsBytes() {
        let startup = Self.packet([("user", "alice"), ("application_name", "job")])
        let machine = StartupMachine(now: 0, choosesServerAtOnce: false, answerTimeout: 5_000_000_000, clientAddressTag: "127.0.0.1:9")
        _ = machine.handle(.clientBytes(startup), now: 0, canReplay: true)
        _ = machine.handle(.connected, now: 0, canReplay: true)
        let expected = ApplicationNameTag.rewrite(startupPacket: startup, client: "127.0.0.1:9")
        #expect(machine.bytesForServer == expected)
        #expect(machine.applicationNameTagged == true)
        // Without a tag the machine sends the client's bytes.
        let plain = StartupMachine(now: 0, choosesServerAtOnce: false, answerTimeout: 5_000_000_000)
        _ = plain.handle(.clientBytes(startup), now: 0, canReplay: true)
        _ = plain.handle(.connected, now: 0, canReplay: true)
        #expect(plain.bytesForServer == startup)
        #expect(plain.applicationNameTagged == nil)
    }
}
