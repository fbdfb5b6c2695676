import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// The open tokens page's own refresh (`GET /tokens/codes`): pyotp's codes with the end of their period, no audit
/// event per refresh, no session kept alive by it, and nothing for tokens the user may not read.
@Suite("Dashboard: the tokens page keeps its codes current")
struct DashboardCodesTests {
    typealias Browser = DashboardTests.Browser

    struct Codes: Decodable {
        struct Code: Decodable {
            let slug: String
            let code: String
            let expires_at: Int64
            let period: Int
        }
        let now: Int64
        let codes: [Code]
    }

    static func codes(_ browser: Browser, _ slugs: [String]) async throws -> (status: HTTPResponse.Status, body: Codes?, text: String) {
        let response = try await browser.get("/tokens/codes?" + slugs.map { "slug=" + $0 }.joined(separator: "&"))
        return (response.status, try? JSONDecoder().decode(Codes.self, from: Data(response.text.utf8)), response.text)
    }

    static func pyotp(_ secret: String, at time: Date, digest: String = "sha1", digits: Int = 6, period: Int = 30) async throws -> String {
        try await TestEnvironment.runPython(
            "import hashlib, pyotp, sys; print(pyotp.TOTP(sys.argv[1], digits=int(sys.argv[3]), digest=getattr(hashlib, sys.argv[2]), interval=int(sys.argv[4])).at(int(sys.argv[5])))",
            [secret, digest, String(digits), String(period), String(Int(time.timeIntervalSince1970))])
    }

    static func codeReads(_ client: any TestClientProtocol, _ auditor: String) async throws -> Int {
        try await client.send(.get, "/v1/audit?action=token.code.read&limit=100", key: auditor).decode(ListResponse<AuditEventResponse>.self).data.count
    }

    @Test("The page carries each code's end of period and the server's time; the refresh gives pyotp's next codes, audits nothing, and ends with the idle timeout it does not extend")
    func refresh() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            let writer = try await test.key([.tokensWrite])
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            #expect(try await client.send(.post, "/v1/tokens", key: writer,
                                          json: #"{"slug": "gcp-8", "secret": "GEZDGNBVGY3TQOJQ", "algorithm": "SHA256", "digits": 8, "period": 60}"#).status == .created)
            let auditor = try await test.key([.auditRead])
            let browser = Browser(client)
            try await DashboardTests.signIn(browser, "alice@example.com", clock: clock)

            let page = try await browser.get("/tokens")
            #expect(page.status == .ok)
            #expect(page.text.contains(#"data-now="1800000015000""#))
            #expect(page.text.contains(#"data-expires-at="1800000030000" data-period="30""#), "aws-prod's code ends with its 30 s period")
            #expect(page.text.contains(#"data-expires-at="1800000060000" data-period="60""#), "gcp-8's with its 60 s period")
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("connect-src 'self'") == true, "the page may fetch its codes")
            let reads = try await Self.codeReads(client, auditor)
            #expect(reads == 2, "the page view reads each code once")

            // 20 s later the page asks for the next codes: pyotp's, for both parameter sets.
            clock.advance(by: 20)
            let next = try await Self.codes(browser, ["aws-prod", "gcp-8"])
            #expect(next.status == .ok, "\(next.text)")
            let body = try #require(next.body)
            #expect(body.now == 1_800_000_035_000)
            let bySlug = Dictionary(uniqueKeysWithValues: body.codes.map { ($0.slug, $0) })
            #expect(bySlug["aws-prod"]?.code == (try await Self.pyotp("JBSWY3DPEHPK3PXP", at: clock.now())))
            #expect(bySlug["aws-prod"]?.expires_at == 1_800_000_060_000)
            #expect(bySlug["gcp-8"]?.code == (try await Self.pyotp("GEZDGNBVGY3TQOJQ", at: clock.now(), digest: "sha256", digits: 8, period: 60)))
            #expect(bySlug["gcp-8"]?.expires_at == 1_800_000_060_000 && bySlug["gcp-8"]?.period == 60)
            #expect(try await Self.codeReads(client, auditor) == reads, "a refresh is part of the audited page view")

            // Refreshes alone do not keep the session: 29 minutes of them, then the idle timeout (30 min since the
            // last page the user opened) ends it, for the refresh and for the pages.
            for _ in 0..<29 {
                clock.advance(by: 60)
                #expect(try await Self.codes(browser, ["aws-prod"]).status == .ok)
            }
            clock.advance(by: 60)
            let ended = try await Self.codes(browser, ["aws-prod"])
            #expect(ended.status == .unauthorized && ended.text == #"{"signed_in":false}"#, "\(ended.text)")
            #expect(try await browser.get("/tokens").headers[.location] == "/login")
        }
    }

    @Test("Without a session, for a token of another organisation, an unknown or malformed slug, a member's ungranted token, or too many: nothing")
    func refused() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            _ = try await DashboardTests.user(test, "bob@example.com", role: "member")
            let writer = try await test.key([.tokensWrite, .tokensCode])
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let (_, otherAdmin) = try await test.otherOrganization()
            let otherWriter = try #require(try await client.send(.post, "/v1/keys", key: otherAdmin, json: #"{"name": "w", "scopes": ["tokens:write"]}"#).decode(KeyResponse.self).key)
            #expect(try await client.send(.post, "/v1/tokens", key: otherWriter, json: #"{"slug": "theirs", "secret": "KRSXG5CTMVRXEZLU"}"#).status == .created)

            // No session, or an API key instead of one: 401, and no code.
            let stranger = Browser(client)
            let anonymous = try await Self.codes(stranger, ["aws-prod"])
            #expect(anonymous.status == .unauthorized && !anonymous.text.contains("code"))
            let keyed = try await client.send(.get, "/tokens/codes?slug=aws-prod", key: writer)
            #expect(keyed.status == .unauthorized)

            let alice = Browser(client)
            try await DashboardTests.signIn(alice, "alice@example.com", clock: clock)
            let mixed = try await Self.codes(alice, ["aws-prod", "theirs", "nope", "..%2Fkeys", "%3Cscript%3E"])
            #expect(mixed.status == .ok)
            #expect(mixed.body?.codes.map(\.slug) == ["aws-prod"], "\(mixed.text)")
            let many = try await Self.codes(alice, (0...100).map { "t\($0)" })
            #expect(many.status == .unprocessableContent)

            // A member sees only granted tokens: none yet.
            let bob = Browser(client)
            try await DashboardTests.signIn(bob, "bob@example.com", clock: clock)
            let member = try await Self.codes(bob, ["aws-prod"])
            #expect(member.status == .ok && member.body?.codes.isEmpty == true, "\(member.text)")
        }
    }

    @Test("Allowed networks typed one per line arrive with CRLF (as browsers send a textarea) and are all kept")
    func crlfNetworks() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            let browser = Browser(client)
            try await DashboardTests.signIn(browser, "alice@example.com", clock: clock)
            #expect(try await browser.get("/keys").status == .ok)
            for (name, networks) in [("crlf", "10.0.0.0/8\r\n192.168.0.0/16\r\n"), ("lf", "10.0.0.0/8\n192.168.0.0/16"), ("cr", "10.0.0.0/8\r192.168.0.0/16"),
                                     ("mixed", " 10.0.0.0/8 ,\r\n\r\n192.168.0.0/16\n")] {
                let made = try await browser.post("/keys", [("name", name), ("scope", "tokens:read"), ("allowed_cidrs", networks)])
                #expect(made.status == .ok || made.status == .created || made.status == .seeOther, "\(name): \(made.status) \(made.text.prefix(300))")
            }
            let auditor = try await test.key([.orgAdmin])
            let keys = try await client.send(.get, "/v1/keys?limit=100", key: auditor).decode(ListResponse<KeyResponse>.self).data
            for name in ["crlf", "lf", "cr", "mixed"] {
                #expect(keys.first { $0.name == name }?.allowedCIDRs == ["10.0.0.0/8", "192.168.0.0/16"], "\(name)")
            }
        }
    }
}
