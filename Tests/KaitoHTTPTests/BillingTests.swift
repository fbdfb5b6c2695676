import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Testing

/// The organisation and its plan (docs/api.md#organisation-users-and-billing): every transition, what it unlocks or removes, and the
/// `billing.subscription.*` webhooks, checked by a real receiver with `standardwebhooks`.
extension WebhookDeliveryTests {
    @Test("Every plan transition: gating at once, overrides dropped below Enterprise, billing webhooks with old and new plan")
    func planTransitions() async throws {
        try await withReceiverApp { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none",
                                          topics: ["billing.subscription.created", "billing.subscription.updated", "billing.subscription.canceled"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15552220000", "provider": "simulator"}"#).decode(InboxResponse.self)
            let sender = try await test.key([.smsSend])
            let send = #"{"from": "\#(inbox.id)", "to": "+15557654321", "body": "x"}"#
            func plan(_ name: String) async throws -> BillingResponse {
                let response = try await client.send(.put, "/v1/org/billing/subscription", key: test.adminKey, json: #"{"plan": "\#(name)"}"#)
                #expect(response.status == .ok, "\(response.text)")
                return try response.decode(BillingResponse.self)
            }

            let initial = try await client.send(.get, "/v1/org/billing", key: test.adminKey).decode(BillingResponse.self)
            #expect(initial == BillingResponse(plan: "free", status: "none", currentPeriodEnd: nil))
            #expect(try await client.send(.post, "/v1/sms/messages", key: sender, json: send).status == .forbidden)
            let limited = #"{"name": "fast", "scopes": ["tokens:code"], "rate_limits": {"code": 600}}"#
            #expect(try await client.send(.post, "/v1/keys", key: test.adminKey, json: limited).status == .forbidden)

            // free → business: created; sending unlocked at once.
            let business = try await plan("business")
            #expect(business.plan == "business" && business.status == "active" && business.currentPeriodEnd != nil)
            #expect(try await client.send(.post, "/v1/sms/messages", key: sender, json: send).status == .accepted)
            #expect(try await client.send(.post, "/v1/keys", key: test.adminKey, json: limited).status == .forbidden)
            // The same plan again changes nothing and sends nothing.
            #expect(try await plan("business") == business)

            // business → enterprise: updated; per-key limits allowed.
            #expect(try await plan("enterprise").plan == "enterprise")
            let fast = try await client.send(.post, "/v1/keys", key: test.adminKey, json: limited)
            #expect(fast.status == .created)
            let fastKey = try fast.decode(KeyResponse.self)
            #expect(fastKey.rateLimits.code == 600)

            // enterprise → business: updated; the override is gone, audited, and visible on the key.
            #expect(try await plan("business").plan == "business")
            let dropped = try await client.send(.get, "/v1/keys/\(fastKey.id)", key: test.adminKey).decode(KeyResponse.self)
            #expect(dropped.rateLimits.code == RateLimitGroup.code.defaultLimit, "back to the default")
            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?action=key.update&target=\(fastKey.id)", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(events.contains { $0.reason?.contains("rate-limit overrides removed") == true })

            // business → free: canceled; sending refused again.
            let canceled = try await plan("free")
            #expect(canceled.plan == "free" && canceled.status == "canceled")
            #expect(try await client.send(.post, "/v1/sms/messages", key: sender, json: send).status == .forbidden)
            #expect(try await client.send(.put, "/v1/org/billing/subscription", key: test.adminKey, json: #"{"plan": "platinum"}"#).status == .unprocessableContent)

            // The webhooks: one per change, in order, with the old and the new plan.
            #expect(try await dispatcher.dispatchDue() == 4)
            let deliveries = try await receiver.waitForDeliveries(4)
            #expect(deliveries.allSatisfy { $0.verified == [true] })
            let seen = try deliveries.map { delivery -> String in
                let data = try delivery.object()
                return "\(delivery.type) \(data["previous_plan"] as? String ?? "?")->\(data["plan"] as? String ?? "?") \(data["status"] as? String ?? "?")"
            }
            #expect(Set(seen) == [
                "billing.subscription.created free->business active", "billing.subscription.updated business->enterprise active",
                "billing.subscription.updated enterprise->business active", "billing.subscription.canceled business->free canceled",
            ])
            #expect(try (deliveries[0].object()["organization"] as? [String: Any])?["id"] as? String == test.organization.id)
            let changes = try await client.send(.get, "/v1/audit?action=org.plan.change", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(changes.map { $0.reason ?? "" } == ["business -> free", "enterprise -> business", "business -> enterprise", "free -> business"])
        }
    }
}

@Suite("The organisation (docs/api.md#organisation-users-and-billing)")
struct OrganizationTests {
    @Test("GET and PATCH /v1/org; names are unique; another organisation sees only its own")
    func organization() async throws {
        try await withTestApp { test, client in
            let shown = try await client.send(.get, "/v1/org", key: test.adminKey).decode(OrganizationResponse.self)
            #expect(shown.name == "default" && shown.plan == "free" && shown.id == test.organization.id)
            let renamed = try await client.send(.patch, "/v1/org", key: test.adminKey, json: #"{"name": "acme"}"#)
            #expect(try renamed.decode(OrganizationResponse.self).name == "acme")
            let (_, otherAdmin) = try await test.otherOrganization("umbrella")
            #expect(try await client.send(.patch, "/v1/org", key: otherAdmin, json: #"{"name": "acme"}"#).status == .conflict)
            #expect(try await client.send(.get, "/v1/org", key: otherAdmin).decode(OrganizationResponse.self).name == "umbrella")
            #expect(try await client.send(.patch, "/v1/org", key: test.adminKey, json: #"{"name": "Not A Slug!"}"#).status == .unprocessableContent)
            let member = try await test.key([.tokensRead])
            #expect(try await client.send(.get, "/v1/org", key: member).status == .forbidden)
            #expect(try await client.send(.get, "/v1/org/billing", key: member).status == .forbidden)
        }
    }
}
