import Foundation
import SwitchmanCore

/// Writes Patroni-like znodes under `/service/<scope>` through a ``ZNodeWriter``.
struct PatroniFixture {
    let writer: ZNodeWriter
    let scope: String
    var base: String { "/service/\(scope)" }

    /// A member's JSON as Patroni 3.0.2 writes it.
    static func memberJSON(port: Int, role: String = "replica", state: String = "running", xlog: Int = 50_331_648) -> String {
        #"{"conn_url":"postgres://127.0.0.1:\#(port)/postgres","api_url":"http://127.0.0.1:\#(port + 3000)/patroni","state":"\#(state)","role":"\#(role)","version":"3.0.2","xlog_location":\#(xlog),"timeline":1}"#
    }

    func addMember(_ name: String, port: Int, role: String = "replica", xlog: Int = 50_331_648, access: ZNodeWriter.Access = .open) throws {
        try writer.create("\(base)/members/\(name)", Self.memberJSON(port: port, role: role, xlog: xlog), access: access)
    }

    func setMember(_ name: String, port: Int, role: String = "replica", state: String = "running", xlog: Int = 50_331_648) throws {
        try writer.set("\(base)/members/\(name)", Self.memberJSON(port: port, role: role, state: state, xlog: xlog))
    }

    /// `pg-0` leads (`master`), `pg-1` replicates; status and sync written.
    func seedTwoNodes(access: ZNodeWriter.Access = .open) throws {
        try addMember("pg-0", port: 5432, role: "master", xlog: 50_331_648, access: access)
        try addMember("pg-1", port: 5433, role: "replica", xlog: 50_331_648, access: access)
        try writer.create("\(base)/leader", "pg-0", access: access)
        try writer.create("\(base)/status", #"{"optime":50331648,"slots":{"pg_1":50331648}}"#, access: access)
        try writer.create("\(base)/sync", #"{"leader":"pg-0","sync_standby":"pg-1"}"#, access: access)
    }

    func setLeader(_ name: String) throws { try writer.set("\(base)/leader", name) }
}

extension ClusterConfiguration {
    /// A test cluster on one local ZooKeeper port.
    static func test(port: UInt16, scope: String, sessionTimeout: Duration, auth: String? = nil) -> ClusterConfiguration {
        ClusterConfiguration(
            scope: scope,
            zookeeper: ZooKeeperConfiguration(hosts: [Endpoint(host: "127.0.0.1", port: port)], sessionTimeout: sessionTimeout, auth: auth)
        )
    }
}
