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
                    try await session.webhooks.claimDue(now: now, leaseUntil: now.addingTimeInterval(60), limit: 16, perEndpoint: 4, perOrganization: 16)
                }
            }
            let first = try await claim()
            #expect(first.filter { $0.endpointID == "whk_slow" }.count == 4, "the slow endpoint's older queue does not fill the claim")
            #expect(first.contains { $0.id == "msg_fast" })
            // Its four are still leased: the next claims get none of its queue.
            #expect(try await claim().isEmpty)
            // When the leases end (the attempts were never recorded), the slow endpoint again gets four, no more.
            let later = try await test.runtime.storage.write { session in
                try await session.webhooks.claimDue(now: now.addingTimeInterval(61), leaseUntil: now.addingTimeInterval(121), limit: 16, perEndpoint: 4, perOrganization: 16)
            }
            #expect(later.filter { $0.endpointID == "whk_slow" }.count == 4)
        }
    }
}

extension WebhookClaimTests {
    @Test("One organisation with many slow endpoints gets at most its share; another organisation's delivery is claimed at once")
    func perOrganizationCap() async throws {
        try await withTestRuntime { test in
            let (other, _) = try await test.otherOrganization()
            let now = test.clock.now()
            try await test.runtime.storage.write { session in
                for index in 0..<200 {
                    let id = "whk_flood\(String(format: "%03d", index))"
                    try await session.webhooks.insert(WebhookEndpoint(
                        id: id, organizationID: other.id, url: "https://receiver.example/\(index)", description: nil, topics: [.auditEvent],
                        auditActions: [], sealedSecret: [1], createdAt: now, updatedAt: now))
                    try await session.webhooks.insertDelivery(WebhookDelivery(
                        id: "msg_flood\(String(format: "%03d", index))", organizationID: other.id, endpointID: id, type: "audit.event",
                        data: "{}", createdAt: now.addingTimeInterval(-60), nextAttemptAt: now.addingTimeInterval(-60)))
                }
                try await session.webhooks.insert(WebhookEndpoint(
                    id: "whk_victim", organizationID: test.organization.id, url: "https://receiver.example/v", description: nil,
                    topics: [.auditEvent], auditActions: [], sealedSecret: [1], createdAt: now, updatedAt: now))
                try await session.webhooks.insertDelivery(WebhookDelivery(
                    id: "msg_victim", organizationID: test.organization.id, endpointID: "whk_victim", type: "audit.event", data: "{}",
                    createdAt: now, nextAttemptAt: now))
            }
            var claimed: [WebhookDelivery] = []
            for _ in 0..<4 {
                claimed += try await test.runtime.storage.write { session in
                    try await session.webhooks.claimDue(now: now, leaseUntil: now.addingTimeInterval(60), limit: 16, perEndpoint: 4, perOrganization: 16)
                }
            }
            // 200 due deliveries of the flooding organisation, older than the victim's: it gets 16, the victim its one.
            #expect(claimed.filter { $0.organizationID == other.id }.count == 16)
            #expect(claimed.contains { $0.id == "msg_victim" })
        }
    }
}
