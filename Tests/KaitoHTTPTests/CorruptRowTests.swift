import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// A stored value the server does not know is an error (503), never read as a default: an unknown algorithm must not
/// give a SHA-1 code, an unparseable network must not lift a key's allow-list, an unknown scope must not be dropped
/// silently. The whole class: every enumerated or listed column a request reads — except an endpoint's topics, where
/// a topic this version does not know is a newer server's and is left out (it widens nothing).
@Suite("Corrupt rows: an unknown stored value is 503, never a guess")
struct CorruptRowTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    /// Each case: what to corrupt (SQL), then the request that reads it.
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let corrupt: String
        let method: HTTPRequest.Method
        let path: String
        /// The key that sends the request: the one whose row is corrupted ("victim"), or one with the scope.
        let scope: Scope?
    }

    static let cases: [Case] = [
        Case(description: "token algorithm", corrupt: "UPDATE tokens SET algorithm = 'sha999' WHERE slug = 's'",
             method: .get, path: "/v1/tokens/s/code", scope: .tokensCode),
        Case(description: "token kind", corrupt: "UPDATE tokens SET kind = 'hotp-ish' WHERE slug = 's'",
             method: .get, path: "/v1/tokens/s/code", scope: .tokensCode),
        Case(description: "key allow-list (an unparseable network would have lifted it)",
             corrupt: "UPDATE api_keys SET allowed_cidrs = 'not-a-network' WHERE name = 'victim'",
             method: .get, path: "/v1/tokens", scope: nil),
        Case(description: "key allow-list with one bad network among good ones",
             corrupt: "UPDATE api_keys SET allowed_cidrs = '127.0.0.0/8 300.1.1.1/8' WHERE name = 'victim'",
             method: .get, path: "/v1/tokens", scope: nil),
        Case(description: "key scopes", corrupt: "UPDATE api_keys SET scopes = 'tokens:read tokens:everything' WHERE name = 'victim'",
             method: .get, path: "/v1/tokens", scope: nil),
        Case(description: "audit action", corrupt: "UPDATE audit_events SET action = 'token.teleport' WHERE seq = 1",
             method: .get, path: "/v1/audit", scope: .auditRead),
    ]

    @Test("Each corrupt column is 503 with no data, and the request that reads it changes nothing", arguments: cases)
    func corrupt(_ corruption: Case) async throws {
        try await withTestApp(.live) { test, client in
            let writer = try await test.key([.tokensWrite])
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#).status == .created)
            let hook = try await client.send(
                .post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/k", "topics": ["audit.event"]}"#)
            #expect(hook.status == .created, "\(hook.text)")
            let victim = try await test.key([.tokensRead], name: "victim")
            var key = victim
            if let scope = corruption.scope { key = try await test.key([scope], name: "caller") }
            // Before: the request works.
            #expect(try await client.send(corruption.method, corruption.path, key: key).status == .ok)

            try await test.execute(corruption.corrupt)
            // (A corrupt audit row makes verify itself fail: then both sides are nil.)
            let before = try? await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first?.result
            let response = try await client.send(corruption.method, corruption.path, key: key)
            #expect(response.status == .serviceUnavailable, "\(corruption): \(response.status) \(response.text)")
            #expect(try response.problem().code == "unavailable")
            // Nothing was written for the refused request (the code read's audit event included).
            #expect((try? await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first?.result) == before)
        }
    }

    @Test("A webhook topic this version does not know (a newer server's) is left out of the endpoint, not an error")
    func newerTopic() async throws {
        try await withTestApp { test, client in
            let hook = try await client.send(
                .post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/k", "topics": ["audit.event"]}"#)
            #expect(hook.status == .created)
            try await test.execute("UPDATE webhook_endpoints SET topics = 'audit.event token.teleported'")
            let listed = try await client.send(.get, "/v1/webhooks", key: test.adminKey)
            #expect(listed.status == .ok)
            #expect(listed.text.contains("audit.event") && !listed.text.contains("token.teleported"))
        }
    }
}
