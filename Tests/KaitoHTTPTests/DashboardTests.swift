import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import Testing

/// The dashboard over HTTP: sign-in with password and the TOTP second factor (codes computed by pyotp), sessions,
/// CSRF, lockout, expiry, and what each role may see and do.
@Suite("Dashboard (issue 11)", .serialized)
struct DashboardTests {
    static let password = "correct horse battery staple"

    /// A browser: keeps the cookies the server sets and sends them back.
    final class Browser: @unchecked Sendable {
        let client: any TestClientProtocol
        var cookies: [String: String] = [:]
        var lastBody = ""

        init(_ client: any TestClientProtocol) { self.client = client }

        func get(_ path: String) async throws -> TestResponse {
            try await send(.get, path, body: nil)
        }

        /// Posts a form; `csrf` true adds the token found on the last page.
        func post(_ path: String, _ fields: [(String, String)], csrf: Bool = true) async throws -> TestResponse {
            var fields = fields
            if csrf, let token = Self.match(#"name="csrf" value="([^"]+)""#, in: lastBody) { fields.append(("csrf", token)) }
            return try await send(.post, path, body: FormEncoding.encode(fields))
        }

        /// Posts a form whose change is expected to succeed: its answer is a redirect (303: post, redirect, get), and
        /// this loads the page it leads to, which says what the change did.
        func submit(_ path: String, _ fields: [(String, String)], sourceLocation: SourceLocation = #_sourceLocation) async throws -> TestResponse {
            let answer = try await post(path, fields)
            #expect(answer.status == .seeOther, "\(answer.status): \(answer.text)", sourceLocation: sourceLocation)
            guard answer.status == .seeOther, let location = answer.headers[.location] else { return answer }
            return try await get(location)
        }

        func send(_ method: HTTPRequest.Method, _ path: String, body: String?) async throws -> TestResponse {
            var headers: HTTPFields = [:]
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
            let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { $0 }
            for field in response.headers[values: .setCookie] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                let (name, value) = (String(pair[0]), pair.count > 1 ? String(pair[1]) : "")
                if value.isEmpty || field.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
            }
            if response.status == .ok || response.status.code >= 400 || response.status == .created { lastBody = response.text }
            return response
        }

        static func match(_ pattern: String, in text: String) -> String? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                  let found = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                  let range = Range(found.range(at: 1), in: text) else { return nil }
            return String(text[range])
        }
    }

    /// pyotp's code for `secret` at the test clock's time.
    static func pyotpCode(_ secret: String, at time: Date) async throws -> String {
        try await TestEnvironment.runPython("import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))", [secret, String(Int(time.timeIntervalSince1970))])
    }

    /// A user with a password, in the default organisation.
    static func user(_ test: TestRuntime, _ email: String, role: String = "admin") async throws -> OrgUser {
        let user = try await test.runtime.users.add(email: email, name: nil, role: role, by: try await test.runtime.asOperator(in: "default"))
        _ = try await test.runtime.signIn.setPassword(in: test.organization, email: email, password: password)
        return user
    }

    /// Signs in through the pages, enrolling the second factor; returns the secret.
    @discardableResult
    static func signIn(_ browser: Browser, _ email: String, clock: ManualClock, secret known: String? = nil) async throws -> String {
        #expect(try await browser.get("/login").status == .ok)
        let login = try await browser.post("/login", [("organization", "default"), ("email", email), ("password", password)])
        #expect(login.status == .seeOther && login.headers[.location] == "/login/second-factor", "\(login.text)")
        let page = try await browser.get("/login/second-factor")
        #expect(page.status == .ok)
        let secret = try #require(known ?? Browser.match(#"id="totp-secret">([A-Z2-7]+)<"#, in: page.text))
        let verified = try await browser.post("/login/second-factor", [("code", try await pyotpCode(secret, at: clock.now()))])
        #expect(verified.status == .seeOther && verified.headers[.location] == "/tokens", "\(verified.text)")
        return secret
    }

    @Test("Password, then a second factor enrolled from the secret shown once; the tokens page shows pyotp's code; all audited as the user")
    func signInAndEnrol() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let alice = try await Self.user(test, "alice@example.com")
            #expect(try await client.send(.post, "/v1/tokens", key: try await test.key([.tokensWrite]), json: #"{"slug": "aws-prod", "name": "AWS prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let browser = Browser(client)
            #expect(try await browser.get("/tokens").headers[.location] == "/login")

            #expect(try await browser.get("/login").status == .ok)
            #expect(browser.lastBody.contains(#"autocomplete="current-password""#))
            _ = try await browser.post("/login", [("organization", "default"), ("email", "Alice@Example.com"), ("password", Self.password)])
            let pending = try #require(browser.cookies["kaito_session"])
            // Pending: the signed-in pages still send the browser to sign in.
            #expect(try await browser.get("/tokens").headers[.location] == "/login")
            browser.cookies["kaito_session"] = pending
            let enrol = try await browser.get("/login/second-factor")
            let secret = try #require(Browser.match(#"id="totp-secret">([A-Z2-7]+)<"#, in: enrol.text))
            #expect(enrol.text.contains("otpauth://totp/") && enrol.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
            #expect(enrol.text.contains(#"<svg xmlns="http://www.w3.org/2000/svg" class="qr""#), "the otpauth URI as a QR code")
            // A wrong code is refused; pyotp's code for the secret is accepted.
            #expect(try await browser.post("/login/second-factor", [("code", "000000")]).status == .unauthorized)
            let done = try await browser.post("/login/second-factor", [("code", try await Self.pyotpCode(secret, at: clock.now()))])
            #expect(done.status == .seeOther && done.headers[.location] == "/tokens")
            let cookie = try #require(done.headers[.setCookie])
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            #expect(browser.cookies["kaito_session"] != pending, "the session gets a new token at the second factor")

            let tokens = try await browser.get("/tokens")
            #expect(tokens.status == .ok)
            #expect(tokens.text.contains(try await Self.pyotpCode("JBSWY3DPEHPK3PXP", at: clock.now())) && tokens.text.contains("AWS prod"))
            #expect(tokens.text.contains("data-expires-at="))
            // The pending token no longer opens anything.
            let old = Browser(client)
            old.cookies["kaito_session"] = pending
            #expect(try await old.get("/tokens").headers[.location] == "/login")

            // Audited as the user: the refused code, the enrolment, the sign-in and the code read.
            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?actor=\(alice.id)", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(Set(events.map(\.action)).isSuperset(of: ["user.signin", "user.totp.enrol", "token.code.read"]))
            #expect(events.contains { $0.action == "user.signin" && $0.outcome == "denied" && $0.reason == "wrong code" })
            #expect(events.allSatisfy { $0.actor.type == "user" && $0.actor.name == "alice@example.com" })

            // Signing out ends the session; the second sign-in asks only for a code (no secret shown again), and a code
            // already used is refused (no replay).
            #expect(try await browser.post("/logout", []).headers[.location] == "/login")
            #expect(try await browser.get("/tokens").headers[.location] == "/login")
            _ = try await browser.get("/login")
            _ = try await browser.post("/login", [("organization", "default"), ("email", "alice@example.com"), ("password", Self.password)])
            let again = try await browser.get("/login/second-factor")
            #expect(!again.text.contains("totp-secret"))
            #expect(try await browser.post("/login/second-factor", [("code", try await Self.pyotpCode(secret, at: clock.now()))]).status == .unauthorized)
            clock.advance(by: 30)
            #expect(try await browser.post("/login/second-factor", [("code", try await Self.pyotpCode(secret, at: clock.now()))]).status == .seeOther)
        }
    }

    @Test("Wrong passwords are refused with one message and audited; five lock the account for 15 minutes; an unknown email names nobody")
    func lockout() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let bob = try await Self.user(test, "bob@example.com")
            let browser = Browser(client)
            for _ in 0..<SignInService.attemptLimit {
                _ = try await browser.get("/login")
                let refused = try await browser.post("/login", [("organization", "default"), ("email", "bob@example.com"), ("password", "wrong password!")])
                #expect(refused.status == .unauthorized && refused.text.contains("wrong"))
            }
            _ = try await browser.get("/login")
            let locked = try await browser.post("/login", [("organization", "default"), ("email", "bob@example.com"), ("password", Self.password)])
            #expect(locked.status == .unauthorized, "locked even with the right password")
            _ = try await browser.get("/login")
            let unknown = try await browser.post("/login", [("organization", "default"), ("email", "nobody@example.com"), ("password", Self.password)])
            #expect(unknown.status == .unauthorized && unknown.text.contains("The organisation, email, password or code is wrong"))
            clock.advance(by: SignInService.lockDuration + 1)
            try await Self.signIn(browser, "bob@example.com", clock: clock)
            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?action=user.signin&outcome=denied", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(events.filter { $0.reason == "wrong password" }.count == SignInService.attemptLimit)
            #expect(events.filter { $0.reason == "locked" }.count == 1)
            #expect(events.allSatisfy { $0.actor.id == bob.id })
        }
    }

    @Test("CSRF: a form without the token is refused and changes nothing (sign-in, key creation, sign-out)")
    func csrf() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await Self.user(test, "carol@example.com")
            let browser = Browser(client)
            _ = try await browser.get("/login")
            #expect(try await browser.post("/login", [("organization", "default"), ("email", "carol@example.com"), ("password", Self.password)], csrf: false).status == .forbidden)
            #expect(browser.cookies["kaito_session"] == nil)
            try await Self.signIn(browser, "carol@example.com", clock: clock)
            _ = try await browser.get("/keys")
            let before = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count
            let forged = try await browser.post("/keys", [("name", "forged"), ("scope", "tokens:code"), ("csrf", "not-the-token")], csrf: false)
            #expect(forged.status == .forbidden)
            #expect(try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count == before)
            #expect(try await browser.post("/logout", [], csrf: false).status == .forbidden)
            #expect(try await browser.get("/tokens").status == .ok, "still signed in")
        }
    }

    @Test("Sessions end after 30 idle minutes and 12 hours at most")
    func expiry() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await Self.user(test, "dave@example.com")
            let browser = Browser(client)
            let secret = try await Self.signIn(browser, "dave@example.com", clock: clock)
            clock.advance(by: SignInService.idleTimeout - 60)
            #expect(try await browser.get("/tokens").status == .ok)
            clock.advance(by: SignInService.idleTimeout + 1)
            #expect(try await browser.get("/tokens").headers[.location] == "/login")
            clock.advance(by: 30)
            try await Self.signIn(browser, "dave@example.com", clock: clock, secret: secret)
            var elapsed: TimeInterval = 0
            while elapsed + 20 * 60 < SignInService.sessionLifetime {
                clock.advance(by: 20 * 60)
                elapsed += 20 * 60
                #expect(try await browser.get("/tokens").status == .ok)
            }
            clock.advance(by: 20 * 60)
            #expect(try await browser.get("/tokens").headers[.location] == "/login")
        }
    }

    @Test("An admin creates a key with scope tokens:code on the keys page, sees it once, and it fetches a code from the API; a member may not")
    func keysByRole() async throws {
        let clock = ManualClock()
        // On a real socket: the key is allowed from 127.0.0.1 only, and the in-process router has no peer address.
        try await withTestApp(.live, clock: clock) { test, client in
            let erin = try await Self.user(test, "erin@example.com", role: "admin")
            _ = try await Self.user(test, "frank@example.com", role: "member")
            #expect(try await client.send(.post, "/v1/tokens", key: try await test.key([.tokensWrite]), json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let admin = Browser(client)
            try await Self.signIn(admin, "erin@example.com", clock: clock)
            #expect(try await admin.get("/keys").status == .ok)
            let created = try await admin.post("/keys", [("name", "ci"), ("scope", "tokens:code"), ("allowed_cidrs", "127.0.0.1/32"), ("token", "aws-prod")])
            // Post, redirect, get: the key on the page the redirect leads to, once; a reload shows it no more and makes no other.
            #expect(created.status == .seeOther && created.headers[.location]?.hasPrefix("/keys?created=key_") == true, "\(created.text)")
            let location = try #require(created.headers[.location])
            let shown = try await admin.get(location)
            #expect(shown.status == .ok && admin.cookies["kaito_flash"] == nil, "the page clears the cookie that carried the key")
            let key = try #require(Browser.match(#"id="new-key">(kto_live_[A-Za-z0-9]+)<"#, in: shown.text))
            #expect(shown.text.contains("<h2>Key created: ci</h2>"))
            let reloaded = try await admin.get(location)
            #expect(!reloaded.text.contains(key) && reloaded.text.contains("It was shown once"))
            let code = try await client.send(.get, "/v1/tokens/aws-prod/code", key: key)
            #expect(code.status == .ok)
            #expect(try code.decode(CodeResponse.self).code == (try await Self.pyotpCode("JBSWY3DPEHPK3PXP", at: clock.now())))
            let record = try await client.send(.get, "/v1/keys/self", key: key).decode(KeyResponse.self)
            #expect(record.scopes == ["tokens:code"] && record.userID == erin.id)
            // Shown once: the keys page afterwards has the key's hint, never the key.
            let list = try await admin.get("/keys")
            #expect(!list.text.contains(key) && list.text.contains(record.id))
            // Bad input: a page with the problem, nothing created.
            let bad = try await admin.post("/keys", [("name", "bad"), ("scope", "tokens:code"), ("allowed_cidrs", "not-a-network")])
            #expect(bad.status == .unprocessableContent && bad.text.contains("Allowed networks, line 1:"), "the field in words")
            #expect(bad.text.contains(#"<span class="field-error" id="error-allowed_cidrs">Allowed networks, line 1: "#)
                    && bad.text.contains(#"<textarea aria-invalid="true" aria-describedby="error-allowed_cidrs" id="cidrs" name="allowed_cidrs""#),
                    "said beside the field, which is marked invalid")
            // Revoke from the page.
            _ = try await admin.get("/keys")
            let unconfirmed = try await admin.post("/keys/\(record.id)/revoke", [("confirm", "not its name")])
            #expect(unconfirmed.status == .unprocessableContent && unconfirmed.text.contains("type \(record.name) to confirm"))
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: key).status == .ok, "nothing revoked")
            let revoked = try await admin.post("/keys/\(record.id)/revoke", [("confirm", record.name)])
            #expect(revoked.status == .seeOther && revoked.headers[.location]?.hasPrefix("/keys?revoked=") == true)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: key).status == .unauthorized)
            // Revoked keys are hidden until asked for, then listed as revoked.
            let afterwards = try await admin.get(try #require(revoked.headers[.location]))
            #expect(afterwards.text.contains("revoked: it no longer authenticates") && !afterwards.text.contains(#"<tr class="key-revoked">"#))
            #expect(afterwards.text.contains(#"<a href="/keys?all=1">Show revoked, spent and expired keys (1 on this page)</a>"#))
            let all = try await admin.get("/keys?all=1").text
            #expect(all.contains(#"<tr class="key-revoked">"#) && all.contains(#"<a href="/keys">Hide keys no longer usable</a>"#))

            // A member sees tokens and codes, not keys, and cannot create one by posting the form.
            let member = Browser(client)
            try await Self.signIn(member, "frank@example.com", clock: clock)
            #expect(try await member.get("/tokens").status == .ok)
            #expect(!member.lastBody.contains(#"href="/keys""#))
            #expect(try await member.get("/keys").status == .forbidden)
            let before = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count
            _ = try await member.get("/tokens")
            // Forged posts (the member's session CSRF token, a form the member is not shown) are refused by role too.
            #expect(try await member.post("/keys", [("name", "sneaky"), ("scope", "tokens:code")]).status == .forbidden)
            #expect(try await member.post("/keys/\(record.id)/revoke", []).status == .forbidden)
            #expect(try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count == before)
        }
    }

    @Test("Another organisation's user signs in to their own organisation only; a removed user's sessions end")
    func organisations() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let (other, _) = try await test.otherOrganization()
            _ = try await test.runtime.users.add(email: "grace@example.com", name: nil, role: "owner", by: try await test.runtime.asOperator(in: other.name))
            _ = try await test.runtime.signIn.setPassword(in: other, email: "grace@example.com", password: Self.password)
            #expect(try await client.send(.post, "/v1/tokens", key: try await test.key([.tokensWrite]), json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let browser = Browser(client)
            _ = try await browser.get("/login")
            #expect(try await browser.post("/login", [("organization", "default"), ("email", "grace@example.com"), ("password", Self.password)]).status == .unauthorized)
            _ = try await browser.get("/login")
            _ = try await browser.post("/login", [("organization", other.name), ("email", "grace@example.com"), ("password", Self.password)])
            let page = try await browser.get("/login/second-factor")
            let secret = try #require(Browser.match(#"id="totp-secret">([A-Z2-7]+)<"#, in: page.text))
            _ = try await browser.post("/login/second-factor", [("code", try await Self.pyotpCode(secret, at: clock.now()))])
            let tokens = try await browser.get("/tokens")
            #expect(tokens.status == .ok && !tokens.text.contains("aws-prod"), "the default organisation's token is not listed")

            let henry = try await Self.user(test, "henry@example.com")
            let removed = Browser(client)
            try await Self.signIn(removed, "henry@example.com", clock: clock)
            try await test.runtime.users.remove(id: henry.id, by: try await test.runtime.asOperator(in: "default"))
            #expect(try await removed.get("/tokens").headers[.location] == "/login")
        }
    }

    @Test("The audit page lists events with the API's filters; the billing page changes the plan (audited as the user); members see neither")
    func auditAndBilling() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let ivy = try await Self.user(test, "ivy@example.com", role: "owner")
            _ = try await Self.user(test, "jack@example.com", role: "member")
            let writer = try await test.key([.tokensWrite], name: "writer")
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let owner = Browser(client)
            try await Self.signIn(owner, "ivy@example.com", clock: clock)

            let all = try await owner.get("/audit")
            #expect(all.status == .ok && all.text.contains("token.create") && all.text.contains("user.signin") && all.text.contains("user ivy@example.com"))
            let filtered = try await owner.get("/audit?action=token.*&actor=&outcome=")
            #expect(filtered.status == .ok && filtered.text.contains("token.create") && !filtered.text.contains("<strong>user.signin"))
            #expect(filtered.text.contains(#"value="token.*""#), "the form keeps the filter")
            let bad = try await owner.get("/audit?action=*bad*")
            #expect(bad.status == .badRequest && bad.text.contains("action filter"))

            _ = try await owner.get("/billing")
            #expect(owner.lastBody.contains(#"<strong id="plan">free</strong>"#))
            #expect(try await owner.post("/billing", [("plan", "business")]).status == .unprocessableContent, "not confirmed")
            #expect(try await owner.post("/billing", [("plan", "business"), ("confirm", "default")]).headers[.location] == "/billing?changed=1")
            #expect(try await owner.get("/billing?changed=1").text.contains("Plan changed to business"))
            #expect(try await owner.get("/billing").text.contains(#"<strong id="plan">business</strong>"#))
            #expect(try await owner.post("/billing", [("plan", "platinum"), ("confirm", "default")]).status == .unprocessableContent)
            #expect(try await owner.post("/billing", [("plan", "free")], csrf: false).status == .forbidden)
            let auditor = try await test.key([.auditRead])
            let changes = try await client.send(.get, "/v1/audit?action=org.plan.change", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(changes.count == 1 && changes.first?.actor.id == ivy.id && changes.first?.reason == "free -> business")

            let member = Browser(client)
            try await Self.signIn(member, "jack@example.com", clock: clock)
            #expect(try await member.get("/audit").status == .forbidden)
            #expect(try await member.get("/billing").status == .forbidden)
            _ = try await member.get("/tokens")
            #expect(try await member.post("/billing", [("plan", "enterprise")]).status == .forbidden)
            #expect(try await owner.get("/billing").text.contains(#"<strong id="plan">business</strong>"#))
        }
    }

    @Test("Password attempts are limited per address (ten a minute), for unknown accounts too")
    func addressLimit() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { _, client in
            let browser = Browser(client)
            for attempt in 1...SignInService.attemptsPerAddressPerMinute {
                _ = try await browser.get("/login")
                let refused = try await browser.post("/login", [("organization", "default"), ("email", "user\(attempt)@example.com"), ("password", "guess guess guess")])
                #expect(refused.status == .unauthorized)
            }
            _ = try await browser.get("/login")
            let limited = try await browser.post("/login", [("organization", "default"), ("email", "another@example.com"), ("password", "guess guess guess")])
            #expect(limited.status == .tooManyRequests && limited.text.contains("Too many sign-in attempts"))
            clock.advance(by: 60)
            _ = try await browser.get("/login")
            #expect(try await browser.post("/login", [("organization", "default"), ("email", "another@example.com"), ("password", "guess guess guess")]).status == .unauthorized)
        }
    }

    @Test("The messages page shows an inbox's messages with their codes to a member, audited as the user; another inbox's filter narrows it")
    func messages() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let kim = try await Self.user(test, "kim@example.com", role: "member")
            var inboxes: [String] = []
            for (number, text) in [("+15550000001", "Your code is 482913"), ("+15550000002", "Use 771100 to sign in")] {
                let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "\#(number)", "provider": "simulator", "label": "QA <phone>"}"#)
                let id = try #require(try inbox.object()["id"] as? String)
                inboxes.append(id)
                #expect(try await client.send(.post, "/v1/inboxes/\(id)/simulate", key: test.adminKey, json: #"{"from": "+15559990000", "body": "\#(text)"}"#).status == .created)
            }
            let browser = Browser(client)
            try await Self.signIn(browser, "kim@example.com", clock: clock)
            let all = try await browser.get("/messages")
            #expect(all.status == .ok && all.text.contains(#"">482913</span> <button type="button" data-copy="code-sms_"#) && all.text.contains("771100"))
            #expect(all.text.contains("QA &lt;phone&gt;") && !all.text.contains("QA <phone>"), "labels are escaped")
            let one = try await browser.get("/messages?inbox=\(inboxes[0])")
            #expect(one.text.contains("482913") && !one.text.contains("771100"))
            #expect(try await browser.get("/messages?inbox=ibx_unknown").status == .notFound)
            let auditor = try await test.key([.auditRead])
            let reads = try await client.send(.get, "/v1/audit?action=sms.message.read&actor=\(kim.id)", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(reads.count == 2)
        }
    }

    @Test("A seed is shown only after the second factor again: a wrong or reused code shows nothing; the view is a flagged event; members cannot")
    func seed() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let lena = try await Self.user(test, "lena@example.com", role: "admin")
            _ = try await Self.user(test, "max@example.com", role: "member")
            let writer = try await test.key([.tokensWrite], name: "writer")
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let admin = Browser(client)
            let secret = try await Self.signIn(admin, "lena@example.com", clock: clock)
            #expect(try await admin.get("/tokens").text.contains(#"href="/tokens/aws-prod/seed""#))
            let form = try await admin.get("/tokens/aws-prod/seed")
            #expect(form.status == .ok && !form.text.contains("JBSWY3DPEHPK3PXP"))
            // The code used to sign in is not accepted again; a wrong one neither.
            #expect(try await admin.post("/tokens/aws-prod/seed", [("code", try await Self.pyotpCode(secret, at: clock.now()))]).status == .unauthorized)
            #expect(try await admin.post("/tokens/aws-prod/seed", [("code", "123456")]).status == .unauthorized)
            #expect(!admin.lastBody.contains("JBSWY3DPEHPK3PXP"))
            #expect(try await admin.post("/tokens/aws-prod/seed", [("code", "000000")], csrf: false).status == .forbidden)
            clock.advance(by: 30)
            let answer = try await admin.post("/tokens/aws-prod/seed", [("code", try await Self.pyotpCode(secret, at: clock.now()))])
            // Post, redirect, get: the seed is on the page the redirect leads to, never in the redirect, and only once.
            #expect(answer.status == .seeOther && answer.headers[.location] == "/tokens/aws-prod/seed" && !answer.text.contains("JBSWY3DPEHPK3PXP"))
            #expect(!(answer.headers[.setCookie] ?? "").contains("JBSWY3DPEHPK3PXP"), "sealed in its cookie")
            let shown = try await admin.get("/tokens/aws-prod/seed")
            #expect(shown.status == .ok && shown.text.contains(#"id="seed">JBSWY3DPEHPK3PXP<"#) && shown.text.contains("otpauth://totp/"))
            let reloaded = try await admin.get("/tokens/aws-prod/seed")
            #expect(reloaded.status == .ok && !reloaded.text.contains("JBSWY3DPEHPK3PXP") && reloaded.text.contains(#"name="code""#), "a reload asks again")
            let auditor = try await test.key([.auditRead])
            let reads = try await client.send(.get, "/v1/audit?action=token.seed.read", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(reads.count == 1 && reads.first?.actor.id == lena.id && reads.first?.flagged == true)

            let member = Browser(client)
            try await Self.signIn(member, "max@example.com", clock: clock)
            #expect(try await member.get("/tokens").status == .ok && !member.lastBody.contains("/seed"))
            #expect(try await member.get("/tokens/aws-prod/seed").status == .forbidden)
            _ = try await member.get("/tokens")
            #expect(try await member.post("/tokens/aws-prod/seed", [("code", "000000")]).status == .forbidden)
        }
    }
}
