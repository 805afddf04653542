import Foundation
import SwitchmanCore
import Testing
@testable import StatsServer

/// The runtime controls' HTTP routing: who may, which method, which paths, and what each outcome answers.
struct AdminRoutesTests {
    static let admin = StatsAdminConfiguration(user: "ops", password: "s3cret")
    static let client = "127.0.0.1:40000"

    static func basic(_ credential: String) -> HTTPHeader {
        HTTPHeader("Authorization", "Basic " + Data(credential.utf8).base64EncodedString())
    }

    static func request(_ method: HTTPMethod, _ path: String, credential: String? = "ops:s3cret") -> HTTPRequest {
        HTTPRequest(method: method, path: path, headers: credential.map { [basic($0)] } ?? [])
    }

    static func status(_ decision: AdminRoutes.Decision) -> Int? {
        if case .respond(let response) = decision { return response.status }
        return nil
    }

    @Test("a POST with the right credentials becomes the command, naming the user and the client", arguments: [
        ("/admin/members/node2/drain", ControlCommand.Action.drain, ControlCommand.Target.member("node2")),
        ("/admin/members/node2/maint", .maint, .member("node2")),
        ("/admin/members/node2/ready", .ready, .member("node2")),
        ("/admin/members/pg-1/shutdown-sessions", .shutdownSessions, .member("pg-1")),
        ("/admin/listeners/primary/pause", .pause, .listener("primary")),
        ("/admin/listeners/primary/resume", .resume, .listener("primary")),
    ])
    func authorisedPostBecomesACommand(_ path: String, _ action: ControlCommand.Action, _ target: ControlCommand.Target) {
        let decision = AdminRoutes.decide(Self.request(.post, path), admin: Self.admin, client: Self.client)
        #expect(decision == .perform(ControlCommand(action: action, target: target, user: "ops", client: Self.client)))
    }

    @Test("wrong or missing credentials get 401 with the admin realm and no command", arguments: [
        nil, "ops:wrong", "other:s3cret", "ops:s3cret2", "ops",
    ] as [String?])
    func wrongCredentialsAre401(_ credential: String?) throws {
        let decision = AdminRoutes.decide(Self.request(.post, "/admin/members/node2/drain", credential: credential), admin: Self.admin, client: Self.client)
        guard case .respond(let response) = decision else {
            Issue.record("a command was made without the right credentials")
            return
        }
        #expect(response.status == 401)
        #expect(response.headers.contains(HTTPHeader("WWW-Authenticate", AdminRoutes.challenge)))
    }

    @Test("GET or HEAD on a control is 405 with Allow: POST", arguments: [HTTPMethod.get, .head])
    func otherMethodsAre405(_ method: HTTPMethod) throws {
        let decision = AdminRoutes.decide(Self.request(method, "/admin/listeners/primary/pause"), admin: Self.admin, client: Self.client)
        guard case .respond(let response) = decision else {
            Issue.record("GET performed a control")
            return
        }
        #expect(response.status == 405)
        #expect(response.headers == [HTTPHeader("Allow", "POST")])
    }

    @Test("paths that are not a control are 404 (a member action on a listener, and the reverse, included)", arguments: [
        "/admin", "/admin/", "/admin/members/node2", "/admin/members/node2/pause", "/admin/listeners/primary/drain",
        "/admin/members//drain", "/admin/members/node2/drain/extra", "/admin/nodes/node2/drain", "/admin/members/node2/DRAIN",
    ])
    func unknownControlPathsAre404(_ path: String) {
        #expect(Self.status(AdminRoutes.decide(Self.request(.post, path), admin: Self.admin, client: Self.client)) == 404)
    }

    @Test("without stats.admin every control is 403 and says how to turn them on, credentials or not")
    func controlsOffAre403() throws {
        for credential in ["ops:s3cret", nil] as [String?] {
            let decision = AdminRoutes.decide(Self.request(.post, "/admin/members/node2/drain", credential: credential), admin: nil, client: Self.client)
            guard case .respond(let response) = decision else {
                Issue.record("a command was made with the controls off")
                return
            }
            #expect(response.status == 403)
            #expect(response.bodyText.contains("stats.admin"))
        }
    }

    @Test("without credentials an unknown path or a GET answers 401, revealing nothing")
    func credentialsAreCheckedFirst() {
        #expect(Self.status(AdminRoutes.decide(Self.request(.get, "/admin/members/x/drain", credential: nil), admin: Self.admin, client: Self.client)) == 401)
        #expect(Self.status(AdminRoutes.decide(Self.request(.post, "/admin/nothing", credential: nil), admin: Self.admin, client: Self.client)) == 401)
    }

    @Test("outcomes answer 200, 404 and 409 with one line")
    func outcomesMapToStatuses() {
        #expect(AdminRoutes.response(for: .done("member node2: drain (was ready)")).status == 200)
        #expect(AdminRoutes.response(for: .done("member node2: drain (was ready)")).bodyText == "ok: member node2: drain (was ready)\n")
        #expect(AdminRoutes.response(for: .notFound("no member x")).status == 404)
        #expect(AdminRoutes.response(for: .conflict("no cluster")).status == 409)
    }

    @Test("POST on a page path is 405 with Allow: GET, HEAD")
    func postOnThePageIs405() {
        let response = StatsRoutes.respond(
            to: HTTPRequest(method: .post, path: "/stats.json"), snapshot: StatsFixtures.cluster, configuration: StatsRouteConfiguration())
        #expect(response.status == 405)
        #expect(response.headers.contains(HTTPHeader("Allow", "GET, HEAD")))
    }
}

/// The operator's state in the machine-readable views.
struct OperatorStateRenderingTests {
    @Test("stats.json and /metrics carry a paused listener and a member's admin state")
    func jsonAndMetricsShowOperatorState() {
        let s = StatsHTMLTests.controlled
        let json = StatsJSON.render(s)
        #expect(json.contains("\"paused\": true"))
        #expect(json.contains("\"admin_state\": \"drain\""))
        #expect(json.contains("\"status\": \"MAINT\""))
        let metrics = PrometheusText.render(s)
        #expect(metrics.contains("switchman_listener_paused{listener=\"\(s.listeners[0].name)\"} 1"))
        #expect(metrics.contains("switchman_member_admin_state{member=\"\(s.members[0].name)\",scope=\"demo\",state=\"drain\"} 1"))
        #expect(metrics.contains("switchman_member_status{member=\"\(s.members[1].name)\",scope=\"demo\",status=\"maint\"} 1"))
    }
}
