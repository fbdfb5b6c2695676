import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// Every dashboard page and form against every kind of visitor: signed out, a member, an admin without the form's
/// CSRF token, an admin. The table must name every route the dashboard registers (read from its sources).
@Suite("Dashboard permissions (issue 11)", .serialized)
struct DashboardPermissionTests {
    typealias Browser = DashboardTests.Browser

    enum Who: String { case everyone, admin, auditor, seed }

    struct Route {
        var method: HTTPRequest.Method
        var route: String
        /// Who may use it besides owners and admins: `everyone` signed in, or a scope members lack.
        var who: Who
        /// A valid form for the route (posts only).
        var form: [(String, String)] = []
    }

    static let routes: [Route] = [
        Route(method: .get, route: "/tokens", who: .everyone),
        Route(method: .get, route: "/tokens/codes", who: .everyone),
        Route(method: .post, route: "/tokens", who: .admin, form: [("slug", "made-token"), ("secret", "KRSXG5CTMVRXEZLU")]),
        Route(method: .get, route: "/tokens/{slug}", who: .everyone),
        Route(method: .post, route: "/tokens/{slug}", who: .admin, form: [("name", "Changed")]),
        Route(method: .post, route: "/tokens/{slug}/rotate", who: .admin, form: [("code", "123456"), ("secret", "KRSXG5CTMVRXEZLU")]),
        Route(method: .post, route: "/tokens/{slug}/delete", who: .admin, form: [("confirm", "aws-prod")]),
        Route(method: .get, route: "/messages", who: .everyone),
        Route(method: .get, route: "/messages/wait", who: .everyone),
        Route(method: .get, route: "/account", who: .everyone),
        Route(method: .post, route: "/account/password", who: .everyone,
              form: [("current_password", DashboardTests.password), ("new_password", "a brand new passphrase"), ("confirm_password", "a brand new passphrase")]),
        Route(method: .get, route: "/tokens/{slug}/seed", who: .seed),
        Route(method: .post, route: "/tokens/{slug}/seed", who: .seed, form: [("code", "123456")]),
        Route(method: .get, route: "/audit", who: .auditor),
        Route(method: .get, route: "/keys", who: .admin),
        Route(method: .post, route: "/keys", who: .admin, form: [("name", "made"), ("scope", "tokens:read")]),
        Route(method: .post, route: "/keys/{id}/revoke", who: .admin),
        Route(method: .get, route: "/inboxes", who: .admin),
        Route(method: .post, route: "/inboxes", who: .admin, form: [("phone_number", "+15550000002"), ("provider", "simulator")]),
        Route(method: .post, route: "/inboxes/{id}/label", who: .admin, form: [("label", "changed")]),
        Route(method: .post, route: "/inboxes/{id}/delete", who: .admin),
        Route(method: .post, route: "/inboxes/{id}/simulate", who: .admin, form: [("from", "+15559990000"), ("body", "code 123456")]),
        Route(method: .get, route: "/webhooks", who: .admin),
        Route(method: .post, route: "/webhooks", who: .admin, form: [("url", "http://127.0.0.1:9/new"), ("topic", "audit.event")]),
        Route(method: .get, route: "/webhooks/{id}", who: .admin),
        Route(method: .post, route: "/webhooks/{id}/{action}", who: .admin),
        Route(method: .post, route: "/webhooks/{id}/deliveries/{delivery}/retry", who: .admin),
        Route(method: .get, route: "/users", who: .admin),
        Route(method: .post, route: "/users", who: .admin, form: [("email", "made@example.com"), ("role", "member")]),
        Route(method: .get, route: "/users/{id}", who: .admin),
        Route(method: .post, route: "/users/{id}/grants", who: .admin, form: [("token", "aws-prod")]),
        Route(method: .post, route: "/users/{id}/password", who: .admin, form: [("password", "a password set by an admin")]),
        Route(method: .post, route: "/users/{id}/remove", who: .admin),
        Route(method: .post, route: "/users/{id}/unlock", who: .admin),
        Route(method: .get, route: "/billing", who: .admin),
        Route(method: .post, route: "/billing", who: .admin, form: [("plan", "business")]),
    ]

    /// Routes open to anyone (sign-in itself and static files), or that need no session.
    static let open = ["GET /", "GET /dashboard/app.css", "GET /dashboard/app.js", "GET /login", "POST /login", "GET /login/second-factor",
                       "POST /login/second-factor", "POST /logout"]

    @Test("The table names every route the dashboard registers")
    func coverage() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/KaitoHTTP/Dashboard").standardized
        var registered = Set<String>()
        let pattern = try NSRegularExpression(pattern: #"router\.(get|post)\("([^"]+)"\)"#)
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let method = String(text[Range(match.range(at: 1), in: text)!]).uppercased()
                registered.insert("\(method) \(text[Range(match.range(at: 2), in: text)!])")
            }
        }
        let covered = Set(Self.routes.map { "\($0.method.rawValue) \($0.route)" }).union(Self.open)
        #expect(!registered.isEmpty && registered == covered)
    }

    /// What a refused request must not change.
    static func state(_ test: TestRuntime, _ client: any TestClientProtocol, tokensReader: String) async throws -> [String] {
        let admin = test.adminKey
        var lines: [String] = [try await client.send(.get, "/v1/tokens", key: tokensReader).text]
        for path in ["/v1/keys", "/v1/inboxes", "/v1/webhooks", "/v1/org/users", "/v1/org/billing"] {
            lines.append(try await client.send(.get, path, key: admin).text)
        }
        for user in try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items {
            lines.append(try await client.send(.get, "/v1/org/users/\(user.id)/token-grants", key: admin).text)
        }
        return lines
    }

    @Test("Signed out: every page sends the browser to sign in; a member gets 403 on what the role lacks; without the CSRF token nothing changes; an admin sees every page")
    func matrix() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            let kim = try await DashboardTests.user(test, "kim@example.com", role: "member")
            #expect(try await client.send(.post, "/v1/tokens", key: try await test.key([.tokensWrite]), json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let key = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "target", "scopes": ["tokens:read"]}"#).decode(KeyResponse.self)
            let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15550000001", "provider": "simulator"}"#).decode(InboxResponse.self)
            let hook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/x", "topics": ["audit.event"]}"#).decode(WebhookResponse.self)
            let delivery = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey).decode(WebhookDeliveryResponse.self)
            func path(_ route: Route) -> String {
                let id = route.route.hasPrefix("/keys") ? key.id : route.route.hasPrefix("/inboxes") ? inbox.id
                    : route.route.hasPrefix("/webhooks") ? hook.id : kim.id
                return route.route.replacingOccurrences(of: "{id}", with: id).replacingOccurrences(of: "{slug}", with: "aws-prod")
                    .replacingOccurrences(of: "{action}", with: "disable").replacingOccurrences(of: "{delivery}", with: delivery.id)
            }
            let tokensReader = try await test.key([.tokensRead])
            let before = try await Self.state(test, client, tokensReader: tokensReader)

            let stranger = Browser(client)
            for route in Self.routes {
                let response = try await stranger.send(route.method, path(route), body: route.method == .post ? FormEncoding.encode(route.form) : nil)
                if route.route == "/tokens/codes" || route.route == "/messages/wait" {
                    // What the open page fetches (JSON): 401, which the page shows as a session that ended.
                    #expect(response.status == .unauthorized && response.text == #"{"signed_in":false}"#, "\(route.route)")
                    continue
                }
                #expect(response.status == .seeOther && response.headers[.location] == "/login", "\(route.method) \(route.route)")
            }

            let member = Browser(client)
            try await DashboardTests.signIn(member, "kim@example.com", clock: clock)
            for route in Self.routes where route.who != .everyone {
                _ = try await member.get("/tokens")  // the session's CSRF token, so that only the role refuses
                let response = route.method == .get ? try await member.get(path(route)) : try await member.post(path(route), route.form)
                #expect(response.status == .forbidden && response.headers[.contentType]?.hasPrefix("text/html") == true, "\(route.method) \(route.route)")
            }

            let admin = Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
            for route in Self.routes where route.method == .post {
                _ = try await admin.get("/tokens")
                let response = try await admin.post(path(route), route.form, csrf: false)
                #expect(response.status == .forbidden, "\(route.route) without the CSRF token")
            }
            #expect(try await Self.state(test, client, tokensReader: tokensReader) == before, "no refused request changed anything")
            for route in Self.routes where route.method == .get {
                // The messages' wait is asked for an inbox that is not there (404): without one it would wait 25 s for
                // a message of any inbox (DashboardCodesTests).
                let response = try await admin.get(path(route) + (route.route == "/messages/wait" ? "?inbox=inb_none" : ""))
                // The codes' refresh needs the ticket of a tokens page view (DashboardCodesTests).
                #expect(response.status == (route.route == "/tokens/codes" ? .forbidden : route.route == "/messages/wait" ? .notFound : .ok), "\(route.route)")
            }
        }
    }
}
