import SwitchmanCore
import Testing
@testable import StatsServer

@Suite struct StatsRoutesTests {
    static let open = StatsRouteConfiguration()
    static let locked = StatsRouteConfiguration(auth: "admin:s3cret")
    static let goodAuth = HTTPHeader("Authorization", "Basic YWRtaW46czNjcmV0")

    static func get(_ path: String, _ headers: [HTTPHeader] = []) -> HTTPRequest {
        HTTPRequest(method: .get, path: path, headers: headers)
    }

    @Test("each path answers with its content type", arguments: [
        ("/", 200, "text/html; charset=utf-8"),
        ("/stats.json", 200, "application/json"),
        ("/metrics", 200, "text/plain; version=0.0.4; charset=utf-8"),
        ("/events.json", 200, "application/json"),
        ("/ledger.html", 200, "text/html; charset=utf-8"),
        ("/health", 200, "text/plain; charset=utf-8"),
        ("/ready", 200, "text/plain; charset=utf-8"),
        ("/primary", 200, "text/plain; charset=utf-8"),
        ("/replica", 200, "text/plain; charset=utf-8"),
        ("/nope", 404, "text/plain; charset=utf-8"),
        ("/stats.json/", 404, "text/plain; charset=utf-8"),
        ("/favicon.ico", 404, "text/plain; charset=utf-8"),
    ])
    func paths(_ path: String, _ status: Int, _ contentType: String) {
        let r = StatsRoutes.respond(to: Self.get(path), snapshot: StatsFixtures.cluster, configuration: Self.open)
        #expect(r.status == status)
        #expect(r.contentType == contentType)
    }

    @Test func thePageCarriesItsContentSecurityPolicy() {
        let r = StatsRoutes.respond(to: Self.get("/"), snapshot: StatsFixtures.cluster, configuration: Self.open)
        #expect(r.headers.contains(HTTPHeader("Content-Security-Policy", StatsHTML.contentSecurityPolicy)))
        #expect(r.bodyText == StatsHTML.render(StatsFixtures.cluster, refresh: .seconds(2)))
    }

    @Test("with auth, everything but /health needs it", arguments: ["/", "/stats.json", "/metrics", "/ready", "/primary", "/replica", "/nope"])
    func authRequired(_ path: String) {
        let denied = StatsRoutes.respond(to: Self.get(path), snapshot: StatsFixtures.cluster, configuration: Self.locked)
        #expect(denied.status == 401)
        #expect(denied.headers.contains(HTTPHeader("WWW-Authenticate", BasicAuth.challenge)))
        let wrong = StatsRoutes.respond(
            to: Self.get(path, [HTTPHeader("Authorization", "Basic YWRtaW46czNjcmVU")]), snapshot: StatsFixtures.cluster,
            configuration: Self.locked
        )
        #expect(wrong.status == 401)
        let allowed = StatsRoutes.respond(to: Self.get(path, [Self.goodAuth]), snapshot: StatsFixtures.cluster, configuration: Self.locked)
        #expect(allowed.status != 401)
    }

    @Test func healthNeedsNoAuth() {
        let r = StatsRoutes.respond(to: Self.get("/health"), snapshot: StatsFixtures.cluster, configuration: Self.locked)
        #expect(r.status == 200)
        #expect(r.bodyText == "ok: 2 event loops turning, oldest heartbeat 600 ms ago\n")
    }

    @Test func unauthorizedAndUnknownRequestsNeverBuildASnapshot() {
        var built = 0
        func snapshot() -> StatsSnapshot {
            built += 1
            return StatsFixtures.cluster
        }
        _ = StatsRoutes.respond(to: Self.get("/"), snapshot: snapshot(), configuration: Self.locked)
        _ = StatsRoutes.respond(to: Self.get("/x"), snapshot: snapshot(), configuration: Self.open)
        #expect(built == 0)
        _ = StatsRoutes.respond(to: Self.get("/metrics"), snapshot: snapshot(), configuration: Self.open)
        #expect(built == 1)
    }

    @Test("liveness looks at the loops only", arguments: [
        ([0.1, 4.9], 200, "ok: 2 event loops turning, oldest heartbeat 4 s ago\n"),
        ([0.1, 5.2], 503, "unavailable: event loop 1 has not turned for 5 s\n"),
        ([Double.nan], 503, "unavailable: event loop 0 has not turned for n/a\n"),
        ([], 503, "unavailable: no event loop reported\n"),
    ])
    func health(_ ages: [Double], _ status: Int, _ body: String) {
        var s = StatsHTMLTests.failover  // no leader, ZooKeeper reconnecting: must not matter
        s.loops = ages.enumerated().map { LoopStats(id: $0.offset, heartbeatAge: $0.element) }
        let r = StatsRoutes.respond(to: Self.get("/health"), snapshot: s, configuration: Self.open)
        #expect(r.status == status)
        #expect(r.bodyText == body)
    }

    @Test func healthStaysUpDuringAFailoverWhileReadinessGoesDown() {
        let s = StatsHTMLTests.failover
        #expect(StatsRoutes.respond(to: Self.get("/health"), snapshot: s, configuration: Self.open).status == 200)
        let primary = StatsRoutes.respond(to: Self.get("/primary"), snapshot: s, configuration: Self.open)
        #expect(primary.status == 503)
        #expect(primary.bodyText == "unavailable: listener primary hold: no confirmed leader (failover in progress)\n")
        #expect(StatsRoutes.respond(to: Self.get("/ready"), snapshot: s, configuration: Self.open).bodyText == primary.bodyText)
        let replica = StatsRoutes.respond(to: Self.get("/replica"), snapshot: s, configuration: Self.open)
        #expect(replica.status == 200)
        #expect(replica.bodyText == "ok: listener replicas ready -> pg-a\n")
    }

    @Test func readinessNamesTheServers() {
        let r = StatsRoutes.respond(to: Self.get("/primary"), snapshot: StatsFixtures.cluster, configuration: Self.open)
        #expect(r.bodyText == "ok: listener primary ready -> pg-b\n")
    }

    @Test func readinessWithoutAListenerOfTheRole() {
        let s = StatsFixtures.staticOnly
        #expect(StatsRoutes.respond(to: Self.get("/primary"), snapshot: s, configuration: Self.open).bodyText
            == "unavailable: no primary listener configured\n")
        #expect(StatsRoutes.respond(to: Self.get("/replica"), snapshot: s, configuration: Self.open).status == 503)
        // Static-only deployments are ready when a listener can route.
        #expect(StatsRoutes.respond(to: Self.get("/ready"), snapshot: s, configuration: Self.open).bodyText == "ok: listener web ready\n")
        var down = s
        down.listeners[0].routeState = .unavailable(reason: "no server\nreachable")
        let r = StatsRoutes.respond(to: Self.get("/ready"), snapshot: down, configuration: Self.open)
        #expect(r.status == 503)
        #expect(r.bodyText == "unavailable: listener web unavailable: no server reachable\n")
    }

    @Test func configurationComesFromTheStatsSection() {
        let c = StatsRouteConfiguration(StatsConfiguration(refresh: .seconds(5), auth: "u:p"))
        #expect(c == StatsRouteConfiguration(refresh: .seconds(5), auth: "u:p", heartbeatTimeout: 5))
    }
}
