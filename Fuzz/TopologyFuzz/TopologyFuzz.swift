// libFuzzer harness for the Patroni znode decoders: member JSON and the picture built from every
// znode (`Topology(scope:znodes:)`). Built by scripts/fuzz.sh against an instrumented SwitchmanCore.
//
// Input: znode contents separated by the byte 0x1E (ASCII record separator), in this order:
// leader, status, optime/leader, sync, failover, then members/pg-0, members/pg-1, … An empty part
// is an absent znode. Invariants are `precondition`s, so a violation is a crash libFuzzer reports.

import Foundation
@testable import SwitchmanCore

/// Entry point libFuzzer calls once per input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTopology(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let parts = bytes.split(separator: 0x1E, omittingEmptySubsequences: false).map { $0.isEmpty ? nil : Array($0) }
    func part(_ i: Int) -> [UInt8]? { i < parts.count ? parts[i] : nil }

    var members: [String: [UInt8]] = [:]
    for i in 5..<max(5, min(parts.count, 13)) {
        if let json = parts[i] { members["pg-\(i - 5)"] = json }
    }
    let znodes = PatroniZNodes(
        leader: part(0), members: members, status: part(1), legacyOptime: part(2), sync: part(3), failover: part(4))
    let topology = Topology(scope: "batman", znodes: znodes)

    // Pure: the same znodes give the same picture.
    require(Topology(scope: "batman", znodes: znodes) == topology, "Topology is not deterministic")
    require(topology.members.count == members.count, "a member znode went missing")

    if let leader = topology.leaderName {
        require(!leader.isEmpty && leader.trimmingCharacters(in: .whitespacesAndNewlines) == leader, "leader name \(leader)")
        require(topology.lag(of: leader) == nil, "the leader has a lag")
    }
    for (name, entry) in topology.members {
        require(entry == ClusterMember.parse(name: name, json: members[name] ?? []), "member parse not deterministic")
        guard let member = entry.member else { continue }
        require(member.name == name)
        require(!member.endpoint.host.isEmpty && member.endpoint.port > 0, "endpoint \(member.endpoint)")
        require(member.timeline.map { $0 >= 0 } ?? true, "negative timeline")
    }
    let reference = topology.referenceLSN
    for (name, lag) in topology.lags {
        require(name != topology.leaderName, "a lag for the leader")
        require(reference.map { lag <= $0 } ?? false, "lag \(lag) above the reference \(String(describing: reference))")
        require(topology.members[name]?.member?.xlogLocation != nil, "a lag without a position")
    }
    require(topology.syncStandbys.allSatisfy { !$0.isEmpty && $0.trimmingCharacters(in: .whitespaces) == $0 })
    for name in topology.members.keys { _ = topology.isSyncStandby(name) }
    _ = topology.leader
    return 0
}

/// `precondition` that prints its message in an optimized build too (then aborts for libFuzzer).
private func require(_ condition: Bool, _ message: @autoclosure () -> String = "", line: UInt = #line) {
    guard !condition else { return }
    FileHandle.standardError.write(Data("fuzz invariant broken at line \(line): \(message())\n".utf8))
    abort()
}
