import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
@testable import KaitoCore
import KaitoTestSupport
import NIOCore
import Testing

/// The dashboard's administration pages (users and their token grants, inboxes, webhooks), a user's own password,
/// and the token-grants API they share.
@Suite("Dashboard administration (issue 11)", .serialized)
struct DashboardAdminTests {
    typealias Browser = DashboardTests.Browser
    static let password = DashboardTests.password
    static let seeds = ["aws-prod": "JBSWY3DPEHPK3PXP", "gcp-prod": "GEZDGNBVGY3TQOJQ"]

    static func tokens(_ test: TestRuntime, _ client: any TestClientProtocol) async throws {
        let writer = try await test.key([.tokensWrite])
        for (slug, seed) in seeds.sorted(by: { $0.key < $1.key }) {
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(seed)"}"#).status == .created)
        }
    }

    static func events(_ test: TestRuntime, _ client: any TestClientProtocol, _ query: String) async throws -> [AuditEventResponse] {
        let auditor = try await test.key([.auditRead])
        return try await client.send(.get, "/v1/audit?\(query)", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
    }

    @Test("A member sees only the tokens granted on the user page; the grants API validates, refuses admins and other organisations' users")
    func grants() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            try await Self.tokens(test, client)
            let erin = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            let kim = try await DashboardTests.user(test, "kim@example.com", role: "member")
            let member = Browser(client)
            try await DashboardTests.signIn(member, "kim@example.com", clock: clock)
            let none = try await member.get("/tokens")
            #expect(none.status == .ok && !none.text.contains("aws-prod") && !none.text.contains("gcp-prod"), "no grants: no tokens")

            // The admin ticks aws-prod on the member's page.
            let admin = Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
            #expect(try await admin.get("/users").text.contains("kim@example.com"))
            let page = try await admin.get("/users/\(kim.id)")
            #expect(page.status == .ok && page.text.contains(#"value="aws-prod""#) && page.text.contains(#"value="gcp-prod""#))
            let saved = try await admin.submit("/users/\(kim.id)/grants", [("token", "aws-prod")])
            #expect(saved.status == .ok && saved.text.contains("Token grants saved.") && saved.text.contains(#"value="aws-prod" checked"#) && !saved.text.contains(#"value="gcp-prod" checked"#))
            let granted = try await member.get("/tokens")
            #expect(granted.text.contains("aws-prod") && !granted.text.contains("gcp-prod"))
            #expect(granted.text.contains(try await DashboardTests.pyotpCode(Self.seeds["aws-prod"]!, at: clock.now())))
            let grant = try #require(try await Self.events(test, client, "action=user.grants.update").first)
            #expect(grant.actor.id == erin.id && grant.target?.id == kim.id && grant.reason == "aws-prod")

            // The API: read, replace, and every refusal changes nothing.
            let path = "/v1/org/users/\(kim.id)/token-grants"
            #expect(try await client.send(.get, path, key: test.adminKey).decode(TokenGrantsResponse.self).tokenSlugs == ["aws-prod"])
            let both = try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": ["gcp-prod", "aws-prod", "gcp-prod"]}"#)
            #expect(try both.decode(TokenGrantsResponse.self) == TokenGrantsResponse(userID: kim.id, tokenSlugs: ["aws-prod", "gcp-prod"]))
            let unknown = try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": ["aws-prod", "nope"]}"#)
            #expect(unknown.status == .unprocessableContent && unknown.text.contains("token_slugs[1]"))
            #expect(try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": "aws-prod"}"#).status == .badRequest)
            #expect(try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": ["aws-prod"], "extra": 1}"#).status.code == 422)
            #expect(try await client.send(.put, path, key: test.adminKey, json: #"{}"#).status.code == 422)
            let many = (0...100).map { "\"t\($0)\"" }.joined(separator: ",")
            #expect(try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": [\#(many)]}"#).status.code == 422)
            let huge = String(repeating: "a", count: 70_000)
            #expect(try await client.send(.put, path, key: test.adminKey, json: #"{"token_slugs": ["\#(huge)"]}"#).status == .contentTooLarge)
            #expect(try await client.send(.put, "/v1/org/users/\(erin.id)/token-grants", key: test.adminKey, json: #"{"token_slugs": []}"#).status == .conflict)
            let reader = try await test.key([.tokensRead, .auditRead])
            #expect(try await client.send(.put, path, key: reader, json: #"{"token_slugs": []}"#).status == .forbidden)
            #expect(try await client.send(.get, path, key: reader).status == .forbidden)
            let (_, otherAdmin) = try await test.otherOrganization()
            #expect(try await client.send(.get, path, key: otherAdmin).status == .notFound)
            #expect(try await client.send(.put, path, key: otherAdmin, json: #"{"token_slugs": []}"#).status == .notFound)
            #expect(try await client.send(.get, path, key: test.adminKey).decode(TokenGrantsResponse.self).tokenSlugs == ["aws-prod", "gcp-prod"])

            // A deleted token's grant goes with it (a new token with its slug is granted to nobody).
            #expect(try await client.send(.delete, "/v1/tokens/gcp-prod", key: try await test.key([.tokensWrite])).status == .noContent)
            #expect(try await client.send(.get, path, key: test.adminKey).decode(TokenGrantsResponse.self).tokenSlugs == ["aws-prod"])

            // The member may not manage users, and a member's post is refused by role.
            #expect(try await member.get("/users").status == .forbidden)
            _ = try await member.get("/tokens")
            #expect(try await member.post("/users/\(kim.id)/grants", [("token", "gcp-prod")]).status == .forbidden)
            #expect(try await client.send(.get, path, key: test.adminKey).decode(TokenGrantsResponse.self).tokenSlugs == ["aws-prod"])
        }
    }

    @Test("Admins add users, set passwords (not an owner's, not their own) and remove users on the users pages; bad input changes nothing")
    func users() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            let olive = try await DashboardTests.user(test, "olive@example.com", role: "owner")
            let admin = Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
            _ = try await admin.get("/users")
            let bad = try await admin.post("/users", [("email", "not-an-email"), ("role", "member")])
            #expect(bad.status == .unprocessableContent && bad.text.contains("email"))
            let badRole = try await admin.post("/users", [("email", "x@example.com"), ("role", "root")])
            #expect(badRole.status == .unprocessableContent && badRole.text.contains("role"))
            #expect(try await admin.post("/users", [("email", "boss@example.com"), ("role", "owner")]).status == .forbidden, "only owners add owners")
            let before = try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.count

            let added = try await admin.post("/users", [("email", "New@Example.com"), ("name", "New <one>"), ("role", "member")])
            #expect(added.status == .seeOther)
            let location = try #require(added.headers[.location])
            let id = String(location.dropFirst("/users/".count))
            #expect(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.count == before + 1)
            let page = try await admin.get(location)
            #expect(page.text.contains("new@example.com") && page.text.contains("New &lt;one&gt;"))
            #expect(try await admin.post("\(location)/password", [("password", "short")]).status == .unprocessableContent)
            let set = try await admin.submit("\(location)/password", [("password", Self.password)])
            #expect(set.status == .ok && set.text.contains("Password set"))
            let newcomer = Browser(client)
            try await DashboardTests.signIn(newcomer, "new@example.com", clock: clock)
            #expect(try await newcomer.get("/tokens").status == .ok)
            let audited = try await Self.events(test, client, "action=user.password.set&target=\(id)")
            #expect(audited.count == 1 && audited[0].actor.type == "user" && audited[0].actor.name == "erin@example.com")

            // An admin may not set an owner's password, nor their own here; an unknown or another organisation's user is 404.
            _ = try await admin.get("/users/\(olive.id)")
            #expect(try await admin.post("/users/\(olive.id)/password", [("password", "another long password")]).status == .forbidden)
            let erinID = try #require(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.first { $0.email == "erin@example.com" }).id
            #expect(try await admin.post("/users/\(erinID)/password", [("password", "another long password")]).status == .conflict)
            let (other, _) = try await test.otherOrganization()
            let stranger = try await test.runtime.users.add(email: "zed@example.com", name: nil, role: "member", by: try await test.runtime.asOperator(in: other.name))
            #expect(try await admin.get("/users/\(stranger.id)").status == .notFound)
            _ = try await admin.get("/users")
            #expect(try await admin.post("/users/\(stranger.id)/remove", []).status == .notFound)
            #expect(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: other.name), after: nil, limit: 10_000).items.count == 1)

            // Removing the newcomer ends their session.
            _ = try await admin.get(location)
            #expect(try await admin.post("\(location)/remove", []).status == .unprocessableContent, "not confirmed")
            #expect(try await newcomer.get("/tokens").status == .ok, "nothing removed")
            let newcomerEmail = try #require(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.first { location.hasSuffix($0.id) }?.email)
            let removed = try await admin.post("\(location)/remove", [("confirm", newcomerEmail)])
            #expect(removed.status == .seeOther && removed.headers[.location]?.hasPrefix("/users?removed=") == true)
            #expect(try await admin.get(try #require(removed.headers[.location])).text.contains("removed; their sessions ended"))
            #expect(try await newcomer.get("/tokens").headers[.location] == "/login")
            #expect(try await test.runtime.users.list(by: try await test.runtime.asOperator(in: "default"), after: nil, limit: 10_000).items.count == before)
        }
    }

    @Test("Users change their own password with the current one: mismatch, short or wrong are refused (wrong audited); other sessions end")
    func ownPassword() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            let kim = try await DashboardTests.user(test, "kim@example.com", role: "member")
            let browser = Browser(client)
            let secret = try await DashboardTests.signIn(browser, "kim@example.com", clock: clock)
            clock.advance(by: 30)
            let elsewhere = Browser(client)
            try await DashboardTests.signIn(elsewhere, "kim@example.com", clock: clock, secret: secret)
            let next = "a brand new passphrase"
            #expect(try await browser.get("/account").status == .ok)
            let mismatch = try await browser.post("/account/password", [("current_password", Self.password), ("new_password", next), ("confirm_password", next + "!")])
            #expect(mismatch.status == .unprocessableContent)
            let short = try await browser.post("/account/password", [("current_password", Self.password), ("new_password", "short"), ("confirm_password", "short")])
            #expect(short.status == .unprocessableContent && short.text.contains("12 to 72"))
            let wrong = try await browser.post("/account/password", [("current_password", "not my password"), ("new_password", next), ("confirm_password", next)])
            #expect(wrong.status == .unauthorized)
            let denied = try await Self.events(test, client, "action=user.password.set&outcome=denied")
            #expect(denied.count == 1 && denied[0].actor.id == kim.id && denied[0].reason == "wrong current password")
            #expect(try await elsewhere.get("/tokens").status == .ok, "refusals end no session")

            let changed = try await browser.submit("/account/password", [("current_password", Self.password), ("new_password", next), ("confirm_password", next)])
            #expect(changed.status == .ok && changed.text.contains("Password changed"))
            #expect(try await browser.get("/tokens").status == .ok, "this session stays")
            #expect(try await elsewhere.get("/tokens").headers[.location] == "/login", "the other session ended")
            let fresh = Browser(client)
            _ = try await fresh.get("/login")
            #expect(try await fresh.post("/login", [("organization", "default"), ("email", "kim@example.com"), ("password", Self.password)]).status == .unauthorized)
            _ = try await fresh.get("/login")
            #expect(try await fresh.post("/login", [("organization", "default"), ("email", "kim@example.com"), ("password", next)]).status == .seeOther)
            // CSRF: without the token nothing changes.
            #expect(try await browser.post("/account/password", [("current_password", next), ("new_password", Self.password), ("confirm_password", Self.password)], csrf: false).status == .forbidden)
            _ = try await fresh.get("/login")
            #expect(try await fresh.post("/login", [("organization", "default"), ("email", "kim@example.com"), ("password", next)]).status == .seeOther)
        }
    }

    @Test("Admins add, relabel, test and delete inboxes; the simulated message shows on the messages page; members and other organisations cannot")
    func inboxes() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            _ = try await DashboardTests.user(test, "kim@example.com", role: "member")
            let admin = Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
            _ = try await admin.get("/inboxes")
            let bad = try await admin.post("/inboxes", [("phone_number", "555-1234"), ("provider", "simulator")])
            #expect(bad.status == .unprocessableContent && bad.text.contains(#"<span class="field-error" id="error-phone_number">Phone number: "#))
            #expect(bad.text.contains(#"value="555-1234""#) && bad.text.contains(#"<option value="simulator" selected>"#), "the form comes back as sent")
            #expect(try await admin.post("/inboxes", [("phone_number", "+15550000001"), ("provider", "carrier-pigeon")]).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/inboxes", key: test.adminKey).decode(ListResponse<InboxResponse>.self).data.isEmpty)

            let created = try await admin.submit("/inboxes", [("phone_number", "+15550000001"), ("label", "QA"), ("provider", "simulator")])
            #expect(created.status == .ok && created.text.contains("Inbox +15550000001 added."))
            let reloaded = try await admin.get("/inboxes")
            #expect(!reloaded.text.contains("Inbox +15550000001 added.") && admin.cookies["kaito_notice"] == nil, "the notice is said once")
            let inbox = try #require(try await client.send(.get, "/v1/inboxes", key: test.adminKey).decode(ListResponse<InboxResponse>.self).data.first)
            #expect(inbox.label == "QA" && inbox.provider == "simulator")
            // A refused add marks the add form's field, not the same-named field of the inbox's row above it.
            let long = try await admin.post("/inboxes", [("phone_number", "+15550000003"), ("label", String(repeating: "l", count: 300)), ("provider", "simulator")])
            let addForm = try #require(long.text.range(of: #"action="/inboxes">"#))
            let marked = try #require(long.text.range(of: #"<span class="field-error" id="error-label">"#), "\(long.text.prefix(400))")
            #expect(long.status == .unprocessableContent && marked.lowerBound > addForm.upperBound)
            // A notice is said on the page its change led to, not on another page loaded first.
            _ = try await admin.get("/inboxes")
            let answer = try await admin.post("/inboxes/\(inbox.id)/label", [("label", "Shared <phone>")])
            let elsewhere = try await admin.get("/keys")
            #expect(answer.status == .seeOther && !elsewhere.text.contains("relabelled"))
            #expect(try await admin.get("/inboxes").text.contains("Inbox +15550000001 relabelled."))
            _ = try await admin.get("/inboxes")
            let relabelled = try await admin.submit("/inboxes/\(inbox.id)/label", [("label", "Shared <phone>")])
            #expect(relabelled.status == .ok && relabelled.text.contains("Shared &lt;phone&gt;"))
            #expect(try await client.send(.get, "/v1/inboxes/\(inbox.id)", key: test.adminKey).decode(InboxResponse.self).label == "Shared <phone>")
            let simulated = try await admin.submit("/inboxes/\(inbox.id)/simulate", [("from", "+15559990000"), ("body", "Your code is 482913")])
            #expect(simulated.status == .ok && simulated.text.contains("delivered."), "\(simulated.text)")
            #expect(try await admin.get("/messages?inbox=\(inbox.id)").text.contains(#"">482913</span> <button type="button" data-copy="code-sms_"#))
            _ = try await admin.get("/inboxes")
            #expect(try await admin.post("/inboxes/\(inbox.id)/simulate", [("from", "nobody"), ("body", "x")]).status == .unprocessableContent)

            // Members: no page, no posts; another organisation's inbox is not found.
            let member = Browser(client)
            try await DashboardTests.signIn(member, "kim@example.com", clock: clock)
            #expect(try await member.get("/inboxes").status == .forbidden)
            #expect(try await member.post("/inboxes/\(inbox.id)/delete", []).status == .forbidden)
            let (_, otherAdmin) = try await test.otherOrganization()
            let foreign = try await client.send(.post, "/v1/inboxes", key: otherAdmin, json: #"{"phone_number": "+15550000009", "provider": "simulator"}"#)
            let foreignID = try #require(try foreign.object()["id"] as? String)
            _ = try await admin.get("/inboxes")
            #expect(try await admin.post("/inboxes/\(foreignID)/delete", []).status == .notFound)
            #expect(try await client.send(.get, "/v1/inboxes/\(foreignID)", key: otherAdmin).status == .ok)

            let unconfirmed = try await admin.post("/inboxes/\(inbox.id)/delete", [("confirm", "+15550000002")])
            #expect(unconfirmed.status == .unprocessableContent && unconfirmed.text.contains("type +15550000001 to confirm"))
            #expect(try await client.send(.get, "/v1/inboxes/\(inbox.id)", key: test.adminKey).status == .ok, "nothing deleted")
            let deleted = try await admin.submit("/inboxes/\(inbox.id)/delete", [("confirm", "+15550000001")])
            #expect(deleted.status == .ok && deleted.text.contains("Inbox +15550000001 deleted, with its messages."))
            #expect(try await client.send(.get, "/v1/inboxes/\(inbox.id)", key: test.adminKey).status == .notFound)
            let audited = Set(try await Self.events(test, client, "target=\(inbox.id)").filter { $0.actor.type == "user" }.map(\.action))
            #expect(audited.isSuperset(of: ["inbox.create", "inbox.update", "inbox.simulate", "inbox.delete"]))
        }
    }

    @Test("An endpoint registered on the webhooks page signs with the secret shown once (standardwebhooks verifies the test delivery); retry, rotate, disable, delete")
    func webhooks() async throws {
        try await withTestRuntime(clock: ManualClock(Date().addingTimeInterval(-180))) { test in
            try await test.withApp { client in
                let clock = test.clock
                _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
                _ = try await DashboardTests.user(test, "kim@example.com", role: "member")
                let admin = Browser(client)
                try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
                _ = try await admin.get("/webhooks")
                let refused = try await admin.post("/webhooks", [("url", "ftp://example.com/x"), ("topic", "audit.event")])
                #expect(refused.status == .unprocessableContent && refused.text.contains("url"))
                #expect(try await admin.post("/webhooks", [("url", "http://127.0.0.1:9/x"), ("topic", "no.such.topic")]).status == .unprocessableContent)
                #expect(try await client.send(.get, "/v1/webhooks", key: test.adminKey).decode(ListResponse<WebhookResponse>.self).data.isEmpty)

                let created = try await admin.post("/webhooks", [("url", "http://127.0.0.1:9/none"), ("topic", "audit.event"), ("audit_actions", "token.*, key.create")])
                // Post, redirect, get: the secret on the page the redirect leads to, once.
                #expect(created.status == .seeOther, "\(created.text)")
                let shown = try await admin.get(try #require(created.headers[.location]))
                #expect(shown.text.contains("Endpoint registered.") && admin.cookies["kaito_flash"] == nil)
                let secret = try #require(Browser.match(#"id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<"#, in: shown.text))
                #expect(!(try await admin.get(try #require(created.headers[.location])).text.contains(secret)), "a reload shows it no more")
                let hook = try #require(try await client.send(.get, "/v1/webhooks", key: test.adminKey).decode(ListResponse<WebhookResponse>.self).data.first)
                #expect(hook.auditActions == ["token.*", "key.create"] && hook.secret == nil)
                #expect(!(try await admin.get("/webhooks/\(hook.id)").text.contains(secret)), "shown once")

                let receiver = try await WebhookReceiver.start(secrets: [secret], statuses: [500, 200], retryAfter: "120")
                defer { receiver.stop() }
                #expect(try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#).status == .ok)
                let dispatcher = WebhookTests.dispatcher(test)
                _ = try await admin.get("/webhooks/\(hook.id)")
                let queued = try await admin.submit("/webhooks/\(hook.id)/test", [])
                #expect(queued.status == .ok && queued.text.contains("webhook.test"))
                #expect(try await dispatcher.dispatchDue() == 1)
                let first = try await receiver.waitForDeliveries(1)
                #expect(first[0].verified == [true] && first[0].status == 500)
                let failed = try await admin.get("/webhooks/\(hook.id)")
                #expect(failed.text.contains("HTTP 500"))
                let deliveryID = try #require(Browser.match(#"<code>(msg_[0-9A-Z]+)</code>"#, in: failed.text))
                #expect(try await admin.submit("/webhooks/\(hook.id)/deliveries/\(deliveryID)/retry", []).text.contains("queued again"))
                #expect(try await dispatcher.dispatchDue() == 1)
                let both = try await receiver.waitForDeliveries(2)
                #expect(both.map(\.id) == [deliveryID, deliveryID] && both[1].verified == [true] && both[1].status == 200)
                #expect(try await admin.get("/webhooks/\(hook.id)").text.contains("HTTP 200"))

                let rotated = try await admin.submit("/webhooks/\(hook.id)/rotate-secret", [])
                let newSecret = try #require(Browser.match(#"id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<"#, in: rotated.text))
                #expect(newSecret != secret && rotated.text.contains("the old one keeps signing"))
                #expect(!(try await admin.get("/webhooks/\(hook.id)").text.contains(newSecret)), "the new secret is shown once too")
                #expect(try await admin.submit("/webhooks/\(hook.id)/disable", []).text.contains("Endpoint disabled."))
                #expect(try await client.send(.get, "/v1/webhooks/\(hook.id)", key: test.adminKey).decode(WebhookResponse.self).enabled == false)
                #expect(try await admin.submit("/webhooks/\(hook.id)/enable", []).text.contains("Endpoint enabled."))
                #expect(try await admin.post("/webhooks/\(hook.id)/nonsense", []).status == .notFound)

                // Members and other organisations.
                let member = Browser(client)
                try await DashboardTests.signIn(member, "kim@example.com", clock: clock)
                #expect(try await member.get("/webhooks").status == .forbidden)
                #expect(try await member.get("/webhooks/\(hook.id)").status == .forbidden)
                #expect(try await member.post("/webhooks/\(hook.id)/delete", []).status == .forbidden)
                let (_, otherAdmin) = try await test.otherOrganization()
                let foreign = try await client.send(.post, "/v1/webhooks", key: otherAdmin, json: #"{"url": "http://127.0.0.1:9/x", "topics": ["audit.event"]}"#)
                let foreignID = try #require(try foreign.object()["id"] as? String)
                #expect(try await admin.get("/webhooks/\(foreignID)").status == .notFound)
                _ = try await admin.get("/webhooks")
                #expect(try await admin.post("/webhooks/\(foreignID)/delete", []).status == .notFound)

                _ = try await admin.get("/webhooks/\(hook.id)")
                #expect(try await admin.post("/webhooks/\(hook.id)/delete", []).status == .unprocessableContent, "not confirmed")
                #expect(try await client.send(.get, "/v1/webhooks/\(hook.id)", key: test.adminKey).status == .ok, "nothing deleted")
                let deleted = try await admin.post("/webhooks/\(hook.id)/delete", [("confirm", "127.0.0.1")])
                #expect(deleted.status == .seeOther && deleted.headers[.location]?.hasPrefix("/webhooks?deleted=") == true)
                #expect(try await client.send(.get, "/v1/webhooks/\(hook.id)", key: test.adminKey).status == .notFound)
                let audited = Set(try await Self.events(test, client, "target=\(hook.id)").filter { $0.actor.type == "user" }.map(\.action))
                #expect(audited.isSuperset(of: ["webhook.create", "webhook.test", "webhook.delivery.retry", "webhook.secret.rotate", "webhook.update", "webhook.delete"]))
            }
        }
    }

    @Test("Sessions that ended (idle or past their lifetime) are deleted at the next sign-in; live ones stay")
    func endedSessionsDeleted() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            _ = try await DashboardTests.user(test, "kim@example.com", role: "member")
            func stored(_ browser: Browser) async throws -> Bool {
                let hash = SignInService.hash(try #require(browser.cookies["kaito_session"]))
                return try await test.runtime.storage.read { try await $0.accounts.session(tokenHash: hash) } != nil
            }
            let idle = Browser(client)
            try await DashboardTests.signIn(idle, "erin@example.com", clock: clock)
            clock.advance(by: SignInService.idleTimeout - 120)
            let live = Browser(client)
            let secret = try await DashboardTests.signIn(live, "kim@example.com", clock: clock)
            clock.advance(by: 121)  // erin's session is now idle too long; kim's is two minutes old
            let before = (try await stored(idle), try await stored(live))
            #expect(before.0 && before.1, "nothing is deleted before a sign-in")
            clock.advance(by: 30)
            let next = Browser(client)
            try await DashboardTests.signIn(next, "kim@example.com", clock: clock, secret: secret)
            let after = (try await stored(idle), try await stored(live), try await stored(next))
            #expect(!after.0, "the idle session is gone")
            #expect(after.1 && after.2)
            #expect(try await live.get("/tokens").status == .ok)
        }
    }

    @Test("An over-16 KiB form is refused with an HTML page and changes nothing; signing out of an ended session goes to the sign-in page")
    func limits() async throws {
        let clock = ManualClock()
        try await withTestApp(clock: clock) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            let admin = Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: clock)
            _ = try await admin.get("/keys")
            let before = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count
            let big = try await admin.post("/keys", [("name", String(repeating: "x", count: 17 * 1024)), ("scope", "tokens:code")])
            #expect(big.status == .contentTooLarge && big.headers[.contentType]?.hasPrefix("text/html") == true && big.text.contains("16 KiB"))
            #expect(try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.count == before)
            // Per-key limits: Enterprise only; an empty field keeps the default, a non-number is refused.
            _ = try await admin.get("/keys")
            let free = try await admin.post("/keys", [("name", "limited"), ("scope", "tokens:read"), ("rate_limit_read", "10")])
            #expect(free.status == .forbidden && free.text.contains("Enterprise"))
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            _ = try await admin.get("/keys")
            #expect(try await admin.post("/keys", [("name", "limited"), ("scope", "tokens:read"), ("rate_limit_read", "ten")]).status == .unprocessableContent)
            let limited = try await admin.post("/keys", [("name", "limited"), ("scope", "tokens:read"), ("rate_limit_code", ""), ("rate_limit_read", "10"), ("rate_limit_write", "5")])
            #expect(limited.status == .seeOther)
            let made = try #require(try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self).data.first { $0.name == "limited" })
            #expect(made.rateLimits.read == 10 && made.rateLimits.write == 5 && made.rateLimits.code == RateLimitGroup.code.defaultLimit)
            let malformed = try await admin.send(.post, "/keys", body: "name=%zz")
            #expect(malformed.status == .unprocessableContent && malformed.headers[.contentType]?.hasPrefix("text/html") == true)

            // Every page renders its rows as HTML: a multi-statement row closure can infer SQLKit's SQLQueryString and
            // print its debug description (the deliveries table did while it was written).
            _ = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15550000001", "provider": "simulator"}"#)
            _ = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/x", "topics": ["audit.event"]}"#)
            for page in ["/tokens", "/messages", "/keys", "/inboxes", "/webhooks", "/users", "/audit", "/billing", "/account"] {
                let response = try await admin.get(page)
                #expect(response.status == .ok, "\(page)")
                #expect(!response.text.contains("SQLRaw") && !response.text.contains("SQLQueryString"), "\(page)")
            }
            _ = try await admin.get("/tokens")
            clock.advance(by: SignInService.idleTimeout + 1)
            let out = try await admin.post("/logout", [])
            #expect(out.status == .seeOther && out.headers[.location] == "/login")
            #expect(admin.cookies["kaito_session"] == nil)
        }
    }
}
