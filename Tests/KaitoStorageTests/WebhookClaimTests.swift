import Foundation
import KaitoCore
import KaitoTestSupport
import Testing

/// The outbox's claim: however long one endpoint's queue, it never holds more than its share of attempts in flight.
@Suite("Webhook claims are capped per endpoint")
struct WebhookClaimTests {
    @Test("A long queue for one endpoint leaves room for the others, on every claim and across claims")
    func perEndpointCap() async throws {
        try await withTestRuntime { test in
            let org = test.organization.id
            let now = test.clock.now()
            let endpoints = ["whk_slow", "whk_fast"]
            try await test.runtime.storage.write { session in
                for id in endpoints {
                    try await session.webhooks.insert(WebhookEndpoint(
                        id: id, organizationID: org, url: "https://receiver.example/\(id)", description: nil, topics: [.auditEvent],
                        auditActions: [], sealedSecret: [1, 2, 3], createdAt: now, updatedAt: now))
                }
                for index in 0..<30 {
                    try await session.webhooks.insertDelivery(WebhookDelivery(
                        id: "msg_slow\(String(format: "%03d", index))", organizationID: org, endpointID: "whk_slow", type: "audit.event",
                        data: "{}", createdAt: now.addingTimeInterval(-60), nextAttemptAt: now.addingTimeInterval(-60)))
                }
                try await session.webhooks.insertDelivery(WebhookDelivery(
                    id: "msg_fast", organizationID: org, endpointID: "whk_fast", type: "audit.event", data: "{}", createdAt: now, nextAttemptAt: now))
            }
            @Sendable func claim() async throws -> [WebhookDelivery] {
                try await test.runtime.storage.write { session in
                    try await session.webhooks.claimDue(now: now, leaseUntil: now.addingTimeInterval(60), limit: 16, perEndpoint: 4)
                }
            }
            let first = try await claim()
            #expect(first.filter { $0.endpointID == "whk_slow" }.count == 4, "the slow endpoint's older queue does not fill the claim")
            #expect(first.contains { $0.id == "msg_fast" })
            // Its four are still leased: the next claims get none of its queue.
            #expect(try await claim().isEmpty)
            // When the leases end (the attempts were never recorded), the slow endpoint again gets four, no more.
            let later = try await test.runtime.storage.write { session in
                try await session.webhooks.claimDue(now: now.addingTimeInterval(61), leaseUntil: now.addingTimeInterval(121), limit: 16, perEndpoint: 4)
            }
            #expect(later.filter { $0.endpointID == "whk_slow" }.count == 4)
        }
    }
}
