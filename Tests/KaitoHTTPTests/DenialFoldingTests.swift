import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// A refused key hammering the server cannot fill the audit log, and no denial goes unrecorded.
@Suite("Repeated denials are folded into one event a minute per key and reason")
struct DenialFoldingTests {
    static func denials(_ client: any TestClientProtocol, _ auditor: String) async throws -> [AuditEventResponse] {
        try await client.send(.get, "/v1/audit?action=auth.denied&limit=200", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
    }

    @Test("A revoked key: the first denial is written at once, the repeats of its minute as one event with their count")
    func revokedKey() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let victim = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "victim", "scopes": ["tokens:read"]}"#).decode(KeyResponse.self)
            let secret = try #require(victim.key)
            #expect(try await client.send(.delete, "/v1/keys/\(victim.id)", key: test.adminKey).status == .noContent)

            #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .unauthorized)
            var events = try await Self.denials(client, auditor)
            #expect(events.count == 1, "the first denial is written before it is answered")
            #expect(events.first?.count == 1 && events.first?.actor.id == victim.id && events.first?.reason == "invalid_key")

            for _ in 0..<199 { #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .unauthorized) }
            #expect(try await Self.denials(client, auditor).count == 1, "repeats within the minute write nothing yet")

            // The minute ends: the repeats are one event, with their count.
            test.clock.advance(by: 60)
            try await test.runtime.audit.flushFoldedDenials()
            events = try await Self.denials(client, auditor)
            #expect(events.map(\.count) == [199, 1])
            #expect(events.reduce(0) { $0 + $1.count } == 200)

            // The next minute starts again with a first denial written at once.
            #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .unauthorized)
            #expect(try await Self.denials(client, auditor).count == 3)
            #expect(try await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first.map { if case .intact = $0.result { true } else { false } } == true)
        }
    }

    @Test("Reasons fold apart; targets that differ leave the folded event without one; shutdown writes what is open")
    func reasonsAndShutdown() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let reader = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "bound", "scopes": ["tokens:read"], "token_slugs": ["a"]}"#).decode(KeyResponse.self)
            let secret = try #require(reader.key)
            for slug in ["b", "c", "b"] {
                #expect(try await client.send(.get, "/v1/tokens/\(slug)", key: secret).status == .forbidden)  // token_not_allowed
            }
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/audit", key: secret).status == .forbidden) }  // insufficient_scope
            var events = try await Self.denials(client, auditor)
            #expect(Set(events.map(\.reason)) == ["token_not_allowed", "insufficient_scope"])
            #expect(events.count == 2)
            // Graceful shutdown writes the open folds without waiting for the minute to end.
            try await test.runtime.audit.flushFoldedDenials(all: true)
            events = try await Self.denials(client, auditor)
            let folded = events.filter { $0.count > 1 }
            #expect(Set(folded.map(\.reason)) == ["token_not_allowed", "insufficient_scope"])
            #expect(folded.first { $0.reason == "token_not_allowed" }?.target == nil, "b and c: no single target")
            #expect(folded.map(\.count).sorted() == [2, 2])
        }
    }

    @Test("Under 50 concurrent connections for a while, a revoked key writes a handful of events, not one per request")
    func underLoad() async throws {
        try await withTestApp(.live) { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let victim = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "victim", "scopes": ["tokens:read"]}"#).decode(KeyResponse.self)
            let secret = try #require(victim.key)
            _ = try await client.send(.delete, "/v1/keys/\(victim.id)", key: test.adminKey)
            let refused = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        var count = 0
                        for _ in 0..<10 where try await client.send(.get, "/v1/tokens", key: secret).status == .unauthorized { count += 1 }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(refused == 500)
            try await test.runtime.audit.flushFoldedDenials(all: true)
            let events = try await Self.denials(client, auditor)
            #expect(events.count == 2)
            #expect(events.reduce(0) { $0 + $1.count } == 500)
        }
    }
}
