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

    /// The ticket of the tokens page last shown.
    static func ticket(_ page: TestResponse) -> String? {
        Browser.match(#"data-view="([^"]+)""#, in: page.text)
    }

    static func codes(_ browser: Browser, _ slugs: [String], view: String?) async throws -> (status: HTTPResponse.Status, body: Codes?, text: String) {
        let query = (view.map { ["view=" + $0] } ?? []) + slugs.map { "slug=" + $0 }
        let response = try await browser.get("/tokens/codes?" + query.joined(separator: "&"))
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
            let view = try #require(Self.ticket(page))
            #expect(page.text.contains(#"data-expires-at="1800000030000" data-period="30""#), "aws-prod's code ends with its 30 s period")
            #expect(page.text.contains(#"data-expires-at="1800000060000" data-period="60""#), "gcp-8's with its 60 s period")
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("connect-src 'self'") == true, "the page may fetch its codes")
            let reads = try await Self.codeReads(client, auditor)
            #expect(reads == 2, "the page view reads each code once")

            // 20 s later the page asks for the next codes: pyotp's, for both parameter sets.
            clock.advance(by: 20)
            let next = try await Self.codes(browser, ["gcp-8", "aws-prod"], view: view)
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
                #expect(try await Self.codes(browser, ["aws-prod", "gcp-8"], view: view).status == .ok)
            }
            clock.advance(by: 60)
            let ended = try await Self.codes(browser, ["aws-prod", "gcp-8"], view: view)
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
            let anonymous = try await Self.codes(stranger, ["aws-prod"], view: nil)
            #expect(anonymous.status == .unauthorized && !anonymous.text.contains("code"))
            let keyed = try await client.send(.get, "/tokens/codes?slug=aws-prod", key: writer)
            #expect(keyed.status == .unauthorized)

            let alice = Browser(client)
            let factor = try await DashboardTests.signIn(alice, "alice@example.com", clock: clock)
            let page = try await alice.get("/tokens")
            let view = try #require(Self.ticket(page))
            #expect(try await Self.codes(alice, ["aws-prod"], view: view).body?.codes.map(\.slug) == ["aws-prod"])
            // Only with the ticket of a page view, for exactly the tokens it showed, in the session it was shown to:
            // a session cookie alone (a stolen one) reads nothing unaudited.
            for (slugs, ticket, why) in [
                (["aws-prod"], nil as String?, "no ticket"), (["aws-prod", "theirs"], view, "a token the page did not show"),
                (["theirs"], view, "another token"), ([], view, "fewer tokens"), (["aws-prod"], "9999999999." + view.split(separator: ".")[1], "another expiry"),
                (["aws-prod"], String(view.dropLast()) + (view.last == "A" ? "B" : "A"), "a forged signature"),
            ] {
                #expect(try await Self.codes(alice, slugs, view: ticket).status == .forbidden, "\(why)")
            }
            let elsewhere = Browser(client)
            clock.advance(by: 30)  // a second-factor code is accepted once per step
            try await DashboardTests.signIn(elsewhere, "alice@example.com", clock: clock, secret: factor)
            #expect(try await Self.codes(elsewhere, ["aws-prod"], view: view).status == .forbidden, "another session")
            let many = try await Self.codes(alice, (0...100).map { "t\($0)" }, view: view)
            #expect(many.status == .unprocessableContent)
            // A token deleted while the page is open is left out (the page shows it as unavailable).
            #expect(try await client.send(.delete, "/v1/tokens/aws-prod", key: writer).status == .noContent)
            let gone = try await Self.codes(alice, ["aws-prod"], view: view)
            #expect(gone.status == .ok && gone.body?.codes.isEmpty == true, "\(gone.text)")

            // A member sees only granted tokens: none yet.
            let bob = Browser(client)
            try await DashboardTests.signIn(bob, "bob@example.com", clock: clock)
            let memberPage = try await bob.get("/tokens")
            #expect(Self.ticket(memberPage) == nil && memberPage.text.contains("No tokens have been shared with you yet"))
            #expect(try await Self.codes(bob, ["aws-prod"], view: view).status == .forbidden)
        }
    }

    /// A test app at a pinned time with alice, an admin, signed in (her second factor's secret passed on).
    static func withAlice(
        _ body: @Sendable @escaping (TestRuntime, any TestClientProtocol, Browser, ManualClock, String) async throws -> Void
    ) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            let browser = Browser(client)
            let factor = try await DashboardTests.signIn(browser, "alice@example.com", clock: clock)
            try await body(test, client, browser, clock, factor)
        }
    }

    @Test("Allowed networks typed one per line arrive with CRLF (as browsers send a textarea) and are all kept")
    func crlfNetworks() async throws {
        try await Self.withAlice { test, client, browser, _, _ in
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

/// Tokens added, edited, re-seeded and deleted from the dashboard, and the tokens page past one page.
@Suite("Dashboard: tokens from the pages")
struct DashboardTokensTests {
    typealias Browser = DashboardTests.Browser

    /// The slugs of a page's ticked token checkboxes.
    static func checked(_ text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: #"name="token" value="([^"]+)" checked"#)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) }
    }

    static func rows(_ text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: #"<tr data-slug="([^"]+)">"#)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) }
    }

    @Test("Add from an otpauth URI or a secret (codes as pyotp's), refused input keeps what was typed but never the secret, rename, replace the seed with the second factor, delete with the slug typed")
    func lifecycle() async throws {
        try await DashboardCodesTests.withAlice { test, client, browser, clock, factor in
            #expect(try await browser.get("/tokens").text.contains("Add a token"))

            let uri = "otpauth://totp/GitHub:ci%40example.com?secret=KRSXG5CTMVRXEZLU&issuer=GitHub&algorithm=SHA256&digits=8&period=60"
            let added = try await browser.post("/tokens", [("slug", "github-ci"), ("name", "GitHub CI"), ("otpauth_uri", uri)])
            #expect(added.status == .seeOther && added.headers[.location] == "/tokens?added=github-ci", "\(added.text.prefix(400))")
            let fromSecret = try await browser.post("/tokens", [("slug", "aws-prod"), ("name", "AWS"), ("secret", "JBSWY3DPEHPK3PXP")])
            #expect(fromSecret.status == .seeOther)
            let page = try await browser.get("/tokens?added=aws-prod")
            #expect(page.text.contains("Token aws-prod added."))
            #expect(page.text.contains(try await DashboardCodesTests.pyotp("KRSXG5CTMVRXEZLU", at: clock.now(), digest: "sha256", digits: 8, period: 60)))
            #expect(page.text.contains(try await DashboardCodesTests.pyotp("JBSWY3DPEHPK3PXP", at: clock.now())))

            // Refused: the form comes back with the slug and name typed, never the secret.
            let refused = try await browser.post("/tokens", [("slug", "bad-one"), ("name", "Bad <one>"), ("secret", "NOT-BASE32!!")])
            #expect(refused.status == .unprocessableContent)
            #expect(refused.text.contains(#"value="bad-one""#) && refused.text.contains("Bad &lt;one&gt;") && !refused.text.contains("NOT-BASE32"))
            let taken = try await browser.post("/tokens", [("slug", "aws-prod"), ("secret", "JBSWY3DPEHPK3PXP")])
            #expect(taken.status == .conflict)

            // Rename: a refusal keeps what was typed and says what is wrong beside the field.
            _ = try await browser.get("/tokens/aws-prod")
            let refusedRename = try await browser.post("/tokens/aws-prod", [("name", String(repeating: "n", count: 300)), ("issuer", "Typed issuer"), ("account", "")])
            #expect(refusedRename.status == .unprocessableContent && refusedRename.text.contains(#"value="Typed issuer""#)
                    && refusedRename.text.contains(#"<span class="field-error" id="error-name">"#), "\(refusedRename.text.prefix(600))")
            let renamed = try await browser.post("/tokens/aws-prod", [("name", "AWS production"), ("issuer", "AWS"), ("account", "")])
            #expect(renamed.status == .seeOther && renamed.headers[.location] == "/tokens/aws-prod?notice=saved")
            let details = try await browser.get("/tokens/aws-prod?notice=saved")
            #expect(details.text.contains("Saved.") && details.text.contains(#"value="AWS production""#))

            // Replacing the seed needs the second factor: a wrong code changes nothing.
            let wrong = try await browser.post("/tokens/aws-prod/rotate", [("secret", "KRSXG5CTMVRXEZLU"), ("code", "000000")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("the seed is unchanged"))
            #expect(try await browser.get("/tokens").text.contains(try await DashboardCodesTests.pyotp("JBSWY3DPEHPK3PXP", at: clock.now())))
            clock.advance(by: 30)  // a second-factor code is accepted once per step
            _ = try await browser.get("/tokens/aws-prod")
            let code = try await DashboardTests.pyotpCode(factor, at: clock.now())
            // A typo in the new secret is refused before the code is checked: the code stays usable.
            let typo = try await browser.post("/tokens/aws-prod/rotate", [("secret", "NOT-BASE32!!"), ("code", code)])
            #expect(typo.status == .unprocessableContent && !typo.text.contains("NOT-BASE32"))
            let rotated = try await browser.post("/tokens/aws-prod/rotate", [("secret", "GEZDGNBVGY3TQOJQ"), ("code", code)])
            #expect(rotated.status == .seeOther && rotated.headers[.location] == "/tokens/aws-prod?notice=rotated", "\(rotated.text.prefix(400))")
            #expect(try await browser.get("/tokens").text.contains(try await DashboardCodesTests.pyotp("GEZDGNBVGY3TQOJQ", at: clock.now())))

            // Delete: only with the slug typed.
            _ = try await browser.get("/tokens/aws-prod")
            let unconfirmed = try await browser.post("/tokens/aws-prod/delete", [("confirm", "aws")])
            #expect(unconfirmed.status == .unprocessableContent)
            #expect(try await browser.get("/tokens/aws-prod").status == .ok)
            let deleted = try await browser.post("/tokens/aws-prod/delete", [("confirm", "aws-prod")])
            #expect(deleted.status == .seeOther && deleted.headers[.location] == "/tokens?deleted=aws-prod")
            #expect(try await browser.get("/tokens/aws-prod").status == .notFound)

            // All of it audited as the user.
            let auditor = try await test.key([.auditRead])
            let actions = try await client.send(.get, "/v1/audit?limit=100", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
                .filter { $0.actor.type == "user" }.map(\.action)
            #expect(Set(actions).isSuperset(of: ["token.create", "token.update", "token.seed.rotate", "token.delete"]), "\(Set(actions))")

            // Another organisation's token is not found; a member cannot add one.
            let (_, otherAdmin) = try await test.otherOrganization()
            let otherWriter = try #require(try await client.send(.post, "/v1/keys", key: otherAdmin, json: #"{"name": "w", "scopes": ["tokens:write"]}"#).decode(KeyResponse.self).key)
            #expect(try await client.send(.post, "/v1/tokens", key: otherWriter, json: #"{"slug": "theirs", "secret": "KRSXG5CTMVRXEZLU"}"#).status == .created)
            #expect(try await browser.get("/tokens/theirs").status == .notFound)
            _ = try await browser.get("/tokens")
            #expect(try await browser.post("/tokens/theirs/delete", [("confirm", "theirs")]).status == .notFound)
        }
    }

    @Test("120 tokens: 50 to a page (and the token pickers of a member's grants and a key past 100 checkboxes) with a link to the next, every token once across the pages, and a search over slug, name, issuer and account")
    func pagesAndSearch() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_015))
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "alice@example.com")
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let writer = try #require(try await client.send(.post, "/v1/keys", key: test.adminKey,
                                                            json: #"{"name": "w", "scopes": ["tokens:write"], "rate_limits": {"write": 1000}}"#).decode(KeyResponse.self).key)
            for index in 0..<120 {
                let body = #"{"slug": "t-\#(index)", "name": "Token \#(index)", "issuer": "\#(index == 7 ? "Needle Corp" : "Acme")", "secret": "JBSWY3DPEHPK3PXP"}"#
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: body).status == .created)
            }
            let browser = Browser(client)
            try await DashboardTests.signIn(browser, "alice@example.com", clock: clock)
            var seen: [String] = []
            var next: String? = "/tokens"
            while let path = next {
                let page = try await browser.get(path)
                #expect(page.status == .ok)
                let rows = Self.rows(page.text)
                #expect(rows.count <= 50)
                seen += rows
                next = DashboardTests.Browser.match(#"<a href="([^"]+)" rel="next">"#, in: page.text).map { $0.replacingOccurrences(of: "&amp;", with: "&") }
            }
            #expect(seen.count == 120 && Set(seen).count == 120, "\(seen.count) rows, \(Set(seen).count) distinct")

            // Pickers past their 100 checkboxes: the rest by slug, and a grant no checkbox shows survives a save.
            let kim = try await DashboardTests.user(test, "kim@example.com", role: "member")
            _ = try await browser.get("/users/\(kim.id)")
            #expect(browser.lastBody.contains(#"name="more_tokens""#))
            let granted = try await browser.submit("/users/\(kim.id)/grants", [("token", "t-1"), ("more_tokens", "t-99\r\nt-119")])
            #expect(granted.status == .ok, "\(granted.text.prefix(300))")
            let userPage = try await browser.get("/users/\(kim.id)")
            let boxes = DashboardTokensTests.checked(userPage.text)
            let unshown = try #require(Browser.match(#"name="more_tokens" rows="3">([^<]*)<"#, in: userPage.text))
            #expect(Set(boxes + unshown.split(separator: "\n").map(String.init)) == ["t-1", "t-99", "t-119"], "\(boxes) \(unshown)")
            // Saved again as shown: nothing lost.
            _ = try await browser.post("/users/\(kim.id)/grants", boxes.map { ("token", $0) } + [("more_tokens", unshown)])
            let again = try await browser.get("/users/\(kim.id)")
            #expect(Set(DashboardTokensTests.checked(again.text)) == Set(boxes) && again.text.contains(unshown))
            _ = try await browser.get("/keys")
            let bound = try await browser.post("/keys", [("name", "bound"), ("scope", "tokens:code"), ("more_tokens", "t-118")])
            #expect(bound.status == .seeOther, "\(bound.text.prefix(300))")
            let keys = try await client.send(.get, "/v1/keys?limit=100", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data
            #expect(keys.first { $0.name == "bound" }?.tokenSlugs == ["t-118"])

            let search = try await browser.get("/tokens?q=T-11")
            #expect(Set(Self.rows(search.text)) == Set(["t-11"] + (110..<120).map { "t-\($0)" }), "\(Self.rows(search.text))")
            #expect(Self.rows(try await browser.get("/tokens?q=needle").text) == ["t-7"], "the issuer is searched too")
            #expect(try await browser.get("/tokens?q=%3Cscript%3E").text.contains("No token matches."))
            #expect(!(try await browser.get("/tokens?q=%3Cscript%3E").text.contains("<script>")), "the search is shown escaped")
        }
    }
}

/// What the pages say, in a person's words, and when, in the reader's zone; messages as they arrive.
@Suite("Dashboard: words, times and live messages")
struct DashboardWordsTests {
    typealias Browser = DashboardTests.Browser

    @Test("A member is told what their role may do; a wrong second-factor code is named as such; times are instants the page localises; an expiry typed in the reader's zone is stored as the instant meant")
    func wordsAndTimes() async throws {
        try await DashboardCodesTests.withAlice { test, client, alice, clock, _ in
            _ = try await DashboardTests.user(test, "bob@example.com", role: "member")
            let bob = Browser(client)
            _ = try await bob.get("/login")
            _ = try await bob.post("/login", [("organization", "default"), ("email", "bob@example.com"), ("password", DashboardTests.password)])
            _ = try await bob.get("/login/second-factor")
            let wrong = try await bob.post("/login/second-factor", [("code", "000000")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("That code was not accepted"), "\(wrong.text.prefix(600))")
            #expect(!wrong.text.contains("password"), "the password was right: the page does not say it may be wrong")
            clock.advance(by: 30)
            let member = Browser(client)
            try await DashboardTests.signIn(member, "bob@example.com", clock: clock)
            let refused = try await member.get("/keys")
            #expect(refused.status == .forbidden && refused.text.contains("your role is member") && !refused.text.contains("org:admin"))

            // An expiry typed as 05:04 by a reader two hours east of UTC: the script sends the instant, 03:04:05Z.
            _ = try await alice.get("/keys")
            let made = try await alice.post("/keys", [("name", "zoned"), ("scope", "tokens:read"), ("expires_at", "2030-01-02T05:04"),
                                                      ("expires_at_utc", "2030-01-02T03:04:05Z")])
            #expect(made.status == .seeOther, "\(made.text.prefix(400))")
            let without = try await alice.post("/keys", [("name", "plain"), ("scope", "tokens:read"), ("expires_at", "2030-01-02T05:04")])
            #expect(without.status == .seeOther, "without the script the field is UTC")
            let keys = try await client.send(.get, "/v1/keys?limit=100", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data
            #expect(keys.first { $0.name == "zoned" }?.expiresAt == "2030-01-02T03:04:05Z")
            #expect(keys.first { $0.name == "plain" }?.expiresAt == "2030-01-02T05:04:00Z")
            // A refusal brings the form back as it was sent, the problem named in words.
            let sentBack = try await alice.post("/keys", [("name", "Deploy <bot>"), ("scope", "tokens:code"), ("scope", "tokens:read"),
                                                         ("allowed_cidrs", "10.0.0.0/8\r\nnot-a-network"), ("single_use", "true"), ("rate_limit_code", "120")])
            #expect(sentBack.status == .unprocessableContent)
            #expect(sentBack.text.contains("Allowed networks, line 2:"), "\(sentBack.text.prefix(500))")
            #expect(sentBack.text.contains(#"value="Deploy &lt;bot&gt;""#) && sentBack.text.contains("10.0.0.0/8\r\nnot-a-network</textarea>"))
            #expect(sentBack.text.contains(#"value="tokens:code" checked"#) && sentBack.text.contains(#"value="tokens:read" checked"#)
                    && !sentBack.text.contains(#"value="tokens:write" checked"#))
            #expect(sentBack.text.contains(#"name="single_use" value="true" checked"#) && sentBack.text.contains(#"name="rate_limit_code" min="1" value="120""#))
            // So do the forms that add a user or an endpoint.
            _ = try await alice.get("/users")
            let user = try await alice.post("/users", [("email", "not-an-email"), ("name", "Kim <K>"), ("role", "admin")])
            #expect(user.status == .unprocessableContent && user.text.contains(#"value="not-an-email""#) && user.text.contains(#"value="Kim &lt;K&gt;""#)
                    && user.text.contains(#"<option value="admin" selected>"#), "\(user.text.prefix(300))")
            _ = try await alice.get("/webhooks")
            let hook = try await alice.post("/webhooks", [("url", "ftp://example.com/x"), ("topic", "audit.event"), ("audit_actions", "key.*"),
                                                          ("description", "CI <alerts>")])
            #expect(hook.status == .unprocessableContent && hook.text.contains(#"value="ftp://example.com/x""#)
                    && hook.text.contains(#"value="audit.event" checked"#) && hook.text.contains(#"value="key.*""#)
                    && hook.text.contains(#"value="CI &lt;alerts&gt;""#))
            let page = try await alice.get("/keys")
            #expect(!page.text.contains("Deploy &lt;bot&gt;"), "a fresh form is empty")
            #expect(page.text.contains(#"<time datetime="2030-01-02T03:04:05Z" title="2030-01-02T03:04:05Z">"#))
            #expect(page.text.contains(#"data-utc="expires-utc""#))
        }
    }


    @Test("A user locked by failed sign-ins: the admin sees until when and lifts it (audited user.unlock); then the user signs in; an unlocked account is a conflict; only an owner unlocks an owner")
    func unlock() async throws {
        try await DashboardCodesTests.withAlice { test, client, alice, clock, _ in
            let bob = try await DashboardTests.user(test, "bob@example.com", role: "member")
            let owner = try await DashboardTests.user(test, "olive@example.com", role: "owner")
            for email in ["bob@example.com", "olive@example.com"] {
                let guesser = Browser(client)
                for _ in 0..<5 {
                    _ = try await guesser.get("/login")
                    _ = try await guesser.post("/login", [("organization", "default"), ("email", email), ("password", "not the password at all")])
                }
            }
            clock.advance(by: 61)  // past the per-address throttle (ten a minute); the locks last 15 minutes
            let page = try await alice.get("/users/\(bob.id)")
            #expect(page.text.contains("Locked after failed sign-ins until") && page.text.contains("Lift the lock"))
            let locked = Browser(client)
            _ = try await locked.get("/login")
            let refused = try await locked.post("/login", [("organization", "default"), ("email", "bob@example.com"), ("password", DashboardTests.password)])
            #expect(refused.status == .unauthorized, "locked: the right password is refused too")

            let lifted = try await alice.submit("/users/\(bob.id)/unlock", [])
            #expect(lifted.status == .ok && lifted.text.contains("The lock is lifted"), "\(lifted.text.prefix(300))")
            #expect(!(try await alice.get("/users/\(bob.id)").text.contains("Lift the lock")))
            #expect(try await alice.post("/users/\(bob.id)/unlock", []).status == .conflict, "not locked any more")
            try await DashboardTests.signIn(Browser(client), "bob@example.com", clock: clock)

            // Not one's own lock (a stolen session must not lift what its wrong codes earned).
            _ = try await alice.get("/users")
            let aliceID = try #require(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.first { $0.email == "alice@example.com" }).id
            let own = try await alice.post("/users/\(aliceID)/unlock", [])
            #expect(own.status == .conflict && own.text.contains("Another owner or admin lifts your lock"))
            // alice is an admin: an owner's lock is an owner's to lift.
            _ = try await alice.get("/users/\(owner.id)")
            #expect(try await alice.post("/users/\(owner.id)/unlock", []).status == .forbidden)
            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?action=user.unlock", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(events.count == 1 && events.first?.target?.id == bob.id && events.first?.actor.type == "user")
        }
    }

    @Test("One inbox chosen: the page's wait returns the next message (an audited read) with its code; without a session 401; another organisation's inbox 404")
    func waits() async throws {
        try await DashboardCodesTests.withAlice { test, client, alice, _, _ in
            let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15550000001", "provider": "simulator"}"#)
                .decode(InboxResponse.self)
            let page = try await alice.get("/messages?inbox=\(inbox.id)")
            // The page's cursor is its own time: a message that arrives before the page's first wait is still shown.
            let after = try #require(Browser.match(#"data-inbox="[^"]+" data-after="(sms_[^"]+)""#, in: page.text))
            let sent = try await client.send(.post, "/v1/inboxes/\(inbox.id)/simulate", key: test.adminKey,
                                             json: #"{"from": "+15559990000", "body": "G-482913 is your code"}"#)
            #expect(sent.status == .created || sent.status == .ok, "\(sent.text)")
            let answer = try await alice.get("/messages/wait?inbox=\(inbox.id)&after=\(after)")
            #expect(answer.status == .ok, "\(answer.text)")
            let message = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any])
            #expect(message["code"] as? String == "482913" && message["from"] as? String == "+15559990000")
            let id = try #require(message["id"] as? String)
            let auditor = try await test.key([.auditRead])
            let reads = try await client.send(.get, "/v1/audit?action=sms.message.read&target=\(id)", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(reads.count == 1 && reads.first?.actor.type == "user", "the message the page received is an audited read")

            #expect(try await Browser(client).get("/messages/wait?inbox=\(inbox.id)").status == .unauthorized)
            let (_, otherAdmin) = try await test.otherOrganization()
            let foreign = try await client.send(.post, "/v1/inboxes", key: otherAdmin, json: #"{"phone_number": "+15550000009", "provider": "simulator"}"#)
                .decode(InboxResponse.self)
            #expect(try await alice.get("/messages/wait?inbox=\(foreign.id)").status == .notFound)
        }
    }

    @Test("All inboxes: the page waits too, and its wait brings the next message of any of the organisation's inboxes, never another organisation's")
    func waitsForAll() async throws {
        try await DashboardCodesTests.withAlice { test, client, alice, _, _ in
            let first = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15550000001", "provider": "simulator"}"#)
                .decode(InboxResponse.self)
            let second = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15550000002", "provider": "simulator"}"#)
                .decode(InboxResponse.self)
            let page = try await alice.get("/messages")
            #expect(page.text.contains("New messages appear here as they arrive."))
            let after = try #require(Browser.match(#"data-inbox="" data-after="(sms_[^"]+)""#, in: page.text))
            let (_, otherAdmin) = try await test.otherOrganization()
            let foreign = try await client.send(.post, "/v1/inboxes", key: otherAdmin, json: #"{"phone_number": "+15550000009", "provider": "simulator"}"#)
                .decode(InboxResponse.self)
            // Another organisation's message arrives first: the wait is not woken for it, nor does it return it.
            let started = ContinuousClock.now
            async let waiting = alice.get("/messages/wait?after=\(after)")
            let parked = { test.runtime.storage.changes.waiterCount(topic: SMSService.topic(organizationID: test.organization.id)) }
            try await waitUntil("the page's wait has read and waits") { parked() == 1 }
            _ = try await client.send(.post, "/v1/inboxes/\(foreign.id)/simulate", key: otherAdmin, json: #"{"from": "+15559990009", "body": "111111"}"#)
            #expect(parked() == 1, "still waiting after another organisation's message")
            _ = try await client.send(.post, "/v1/inboxes/\(second.id)/simulate", key: test.adminKey, json: #"{"from": "+15559990000", "body": "Code 482913"}"#)
            let answer = try await waiting
            #expect(answer.status == .ok, "\(answer.text)")
            let message = try #require(try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [String: Any])
            #expect(message["code"] as? String == "482913" && message["to"] as? String == "+15550000002", "\(message)")
            // Woken by the message: a test server's periodic re-read is an hour away, so without the notification
            // the page's wait would have answered only at its 25-second timeout (with its last read).
            #expect(ContinuousClock.now - started < .seconds(15))
            // Only message ids are cursors.
            #expect(try await alice.get("/messages/wait?after=a").status == .badRequest)
            _ = first
        }
    }
}
