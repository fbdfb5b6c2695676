import Foundation
import KaitoAPIModels
import KaitoClient
import KaitoCore
import KaitoTestSupport
import Testing

/// The Swift SDK against a live `kaito serve`: the methods of every resource, typed problems, idempotency keys and
/// pagination as an `AsyncSequence` (OperationCoverageTests holds it to every operation of openapi.json).
@Suite("End to end: the Swift SDK (KaitoClient)", .serialized)
struct SDKTests {
    @Test("Every resource through KaitoClient: tokens, keys, users, billing, Twilio, inboxes and messages, SMS, webhooks, audit, operations; typed problems; pages")
    func everyResource() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await run(kaito, ["admin", "set-plan", "default", "enterprise", "--data-dir", server.directory.path]).status == 0)
        do {
            try await KaitoClient.with(baseURL: server.url, key: admin) { client in
                // Operations.
                #expect(try await client.health().version == KaitoVersion.current)
                #expect(try await client.ready())
                #expect(try await client.metrics().contains("kaito_http_requests_total"))
                #expect(try JSONSerialization.jsonObject(with: try await client.openAPIDocument()) is [String: Any])
                #expect(try await client.problemType(code: "rate_limited").status == 429)

                // Keys: made once with an idempotency key, read, changed, the caller's own.
                let once = client.idempotent("sdk-writer")
                let made = try await once.createKey(CreateKeyRequest(
                    name: "sdk", scopes: ["tokens:write", "tokens:read", "tokens:code", "tokens:seed", "sms:read", "sms:send"],
                    expiresAt: "2099-01-01T00:00:00Z", rateLimits: RateLimitsBody(read: 1000, write: 1000)))
                #expect(try await once.createKey(CreateKeyRequest(
                    name: "sdk", scopes: ["tokens:write", "tokens:read", "tokens:code", "tokens:seed", "sms:read", "sms:send"],
                    expiresAt: "2099-01-01T00:00:00Z", rateLimits: RateLimitsBody(read: 1000, write: 1000))).key == made.key, "replayed")
                #expect(try await client.key(id: made.id).name == "sdk")
                let cleared = try await client.updateKey(id: made.id, UpdateKeyRequest(name: .given("sdk writer"), expiresAt: .given(nil)))
                #expect(cleared.name == "sdk writer" && cleared.expiresAt == nil)
                let me = try await client.currentKey()
                #expect(me.scopes.contains("org:admin") && me.rateLimitStanding?["write"] != nil, "the caller's own key, with its standing")

                let writer = client.using(key: try #require(made.key))
                // Tokens and 120 of them read back through pages.
                _ = try await writer.createToken(CreateTokenRequest(slug: "aws-prod", secret: "JBSWY3DPEHPK3PXP"))
                #expect(try await writer.token(slug: "aws-prod").slug == "aws-prod")
                #expect(try await writer.updateToken(slug: "aws-prod", UpdateTokenRequest(issuer: "AWS")).issuer == "AWS")
                #expect(try await writer.seed(slug: "aws-prod").secret == "JBSWY3DPEHPK3PXP")
                #expect(try await writer.rotateSeed(slug: "aws-prod", CreateTokenRequest(secret: "KRSXG5CTMVRXEZLU")).slug == "aws-prod")
                #expect(try await writer.seed(slug: "aws-prod").secret == "KRSXG5CTMVRXEZLU")
                for index in 0..<119 { _ = try await writer.createToken(CreateTokenRequest(slug: "t-\(index)", secret: "JBSWY3DPEHPK3PXP")) }
                var slugs: [String] = []
                for try await token in writer.pages({ try await writer.tokens(limit: 50, cursor: $0) }) { slugs.append(token.slug) }
                #expect(slugs.count == 120 && Set(slugs).count == 120)

                // A typed problem: the code, the scope it lacks.
                do {
                    _ = try await writer.organization()
                    Issue.record("a tokens key read the organisation")
                } catch let error as KaitoClientError {
                    #expect(error.status == 403 && error.code == "insufficient_scope" && error.requiredScope == "org:admin")
                }

                // Organisation, users and grants, billing, Twilio credentials.
                #expect(try await client.organization().name == "default")
                #expect(try await client.updateOrganization(OrganizationRequest(name: "acme")).name == "acme")
                let kim = try await client.addUser(UserRequest(email: "kim@example.com", role: "member"))
                #expect(try await client.users().data.contains { $0.id == kim.id })
                #expect(try await client.setTokenGrants(userID: kim.id, TokenGrantsRequest(tokenSlugs: ["aws-prod"])).tokenSlugs == ["aws-prod"])
                #expect(try await client.tokenGrants(userID: kim.id).tokenSlugs == ["aws-prod"])
                try await client.removeUser(id: kim.id)
                #expect(try await client.billing().plan == "enterprise")
                #expect(try await client.setSubscription(SubscriptionRequest(plan: "business")).plan == "business")
                #expect(try await client.setTwilioCredentials(TwilioCredentialsRequest(accountSID: "AC" + String(repeating: "0", count: 32), authToken: String(repeating: "a", count: 32))).authTokenSet)
                #expect(try await client.twilioCredentials().authTokenSet)

                // Inboxes, inbound and outbound messages.
                let inbox = try await client.createInbox(InboxRequest(phoneNumber: "+15552220000", provider: "simulator"))
                #expect(try await client.inbox(id: inbox.id).phoneNumber == "+15552220000")
                #expect(try await client.updateInbox(id: inbox.id, InboxRequest(label: "QA")).label == "QA")
                let inbound = try await client.simulate(inbox: inbox.id, from: "+15550001111", body: "Your code is 482913")
                #expect(try await writer.message(id: inbound.id).code == "482913")
                let sent = try await writer.idempotent("notify-1").sendSMS(SendSMSRequest(from: inbox.id, to: "+15557654321", body: "Deploy done"))
                #expect(try await writer.outboundMessage(id: sent.id).id == sent.id)

                // Webhooks.
                let hook = try await client.createWebhook(WebhookRequest(url: "https://93.184.216.34/kaito", topics: ["sms.inbound"]))
                #expect(try await client.webhook(id: hook.id).url == "https://93.184.216.34/kaito")
                #expect(try await client.updateWebhook(id: hook.id, WebhookRequest(enabled: false)).enabled == false)
                let rotated = try await client.rotateWebhookSecret(id: hook.id)
                #expect(rotated.secret?.hasPrefix("whsec_") == true && rotated.secret != hook.secret)
                let test = try await client.testWebhook(id: hook.id)
                #expect(try await client.deliveries(webhookID: hook.id).data.contains { $0.id == test.id })
                #expect(try await client.retryDelivery(webhookID: hook.id, deliveryID: test.id).id == test.id)

                // The audit log, a page and the whole chain.
                let auditor = client.using(key: try #require(try await client.createKey(CreateKeyRequest(name: "auditor", scopes: ["audit:read"])).key))
                #expect(try await auditor.auditEvents(filters: [("action", "token.seed.rotate")], limit: 10, cursor: nil).data.count == 1)
                let export = String(decoding: try await auditor.auditExport(), as: UTF8.self)
                #expect(export.split(separator: "\n").count > 100 && export.contains("token.seed.read"))
            }
        } catch {
            _ = server.stop()
            throw error
        }
        #expect(server.stop() == 0)
    }
}
