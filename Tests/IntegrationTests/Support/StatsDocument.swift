import Foundation

/// The part of `/stats.json` (docs/STATS.md, schema 1) the integration tests read.
struct StatsDocument: Decodable, Sendable {
    struct Cluster: Decodable, Sendable {
        struct Leader: Decodable, Sendable {
            let name: String
            let confirmed: Bool
        }
        let zookeeperSession: String
        let leader: Leader?
        let generation: Int
        let leaderChangesTotal: Int
        let zookeeperDisconnectsTotal: Int
        let zookeeperSessionExpiriesTotal: Int
        let dcsLossWriteCutsTotal: Int?
    }
    struct Listener: Decodable, Sendable {
        struct Route: Decodable, Sendable {
            let state: String
            let reason: String?
            let servers: [String]
        }
        struct Sessions: Decodable, Sendable {
            let current: Int
            let total: Int
        }
        let name: String
        let role: String
        let route: Route
        let sessions: Sessions
        let held: Int
        /// Absent from a Switchman without runtime controls' fields.
        let paused: Bool?
        let connectErrors: Int
        let staleSessionsClosed: Int
        let sessionsRefused: Int
    }
    struct Member: Decodable, Sendable {
        struct Check: Decodable, Sendable {
            let name: String
            let ok: Bool
            let detail: String
        }
        struct Sessions: Decodable, Sendable {
            let current: Int
            let total: Int
        }
        let name: String
        let role: String?
        let state: String?
        let leader: Bool
        let status: String
        let statusReason: String?
        /// `ready`, `drain` or `maint`.
        let adminState: String?
        let lagBytes: Int?
        let lagSeconds: Double?
        let checks: [Check]?
        let sessions: Sessions
    }
    struct Event: Decodable, Sendable {
        struct LeaderChange: Decodable, Sendable {
            let oldLeader: String?
            let newLeader: String?
            let generation: Int
            let sessionsClosed: Int
            let timeToConfirmation: Double?
        }
        let time: Double
        let kind: String
        let message: String
        let leaderChange: LeaderChange?
    }

    let cluster: Cluster?
    let listeners: [Listener]
    let members: [Member]
    let events: [Event]

    func listener(_ name: String) -> Listener? { listeners.first { $0.name == name } }
    func member(_ name: String) -> Member? { members.first { $0.name == name } }

    /// Whether Switchman routes writes to `leader`: named, confirmed, primary route ready to it.
    func routesWrites(to leader: String) -> Bool {
        cluster?.leader?.name == leader && cluster?.leader?.confirmed == true
            && listener("primary")?.route.state == "ready" && listener("primary")?.route.servers == [leader]
    }

    /// The leader and the primary route in a few words, for a wait's error message.
    var writeRouteSummary: String {
        let leader = cluster?.leader.map { "\($0.name) (\($0.confirmed ? "confirmed" : "unconfirmed"))" } ?? "none"
        let route = listener("primary").map { "\($0.route.state) to \($0.route.servers)\($0.route.reason.map { ", \($0)" } ?? "")" } ?? "no primary listener"
        return "leader \(leader), primary route \(route), ZooKeeper session \(cluster?.zookeeperSession ?? "none")"
    }

    static func decode(_ body: String) throws -> StatsDocument {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatsDocument.self, from: Data(body.utf8))
    }
}
