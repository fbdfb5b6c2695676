import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoHTTP
import KaitoTestSupport
import Logging
import Testing

/// The code fetch answers from memory (keys, tokens, the writer's chain heads and subscribers): every change to
/// what memory holds must be seen by the very next request, whoever made it, and the audit chain must stay one
/// intact chain.
@Suite("Cached reads: every change is seen by the next request, and the chain stays whole")
struct CachedReadsTests {
    static let secret = "JBSWY3DPEHPK3PXP"
    static let otherSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

    func code(_ secret: String, _ test: TestRuntime) throws -> String {
        TOTP.code(secret: try Base32.decode(secret), at: test.clock.now(), parameters: TOTPParameters()).code
    }

    func events(_ client: any TestClientProtocol, _ key: String, action: String) async throws -> [AuditEventResponse] {
        try await client.send(.get, "/v1/audit?action=\(action)&limit=100", key: key).decode(ListResponse<AuditEventResponse>.self).data
    }

    @Test("A key's binding changed, or the key revoked, through the API: the next request is refused")
    func keyChangesThroughTheAPI() async throws {
        try await withTestApp { test, client in
            let admin = test.adminKey
            let writer = try await test.key([.tokensWrite], name: "writer")
            for slug in ["a", "b"] {
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#).status == .created)
            }
            let created = try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "ci", "scopes": ["tokens:code"]}"#).decode(KeyResponse.self)
            let key = try #require(created.key)
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok) }

            #expect(try await client.send(.patch, "/v1/keys/\(created.id)", key: admin, json: #"{"token_slugs": ["b"]}"#).status == .ok)
            let refused = try await client.send(.get, "/v1/tokens/a/code", key: key)
            #expect(refused.status == .forbidden)
            #expect(try refused.problem().code == "token_not_allowed")
            #expect(try await client.send(.get, "/v1/tokens/b/code", key: key).status == .ok)

            #expect(try await client.send(.delete, "/v1/keys/\(created.id)", key: admin).status == .noContent)
            let revoked = try await client.send(.get, "/v1/tokens/b/code", key: key)
            #expect(revoked.status == .unauthorized)
            #expect(try revoked.problem().code == "invalid_key")
        }
    }

    @Test("A key revoked by an operator command (another process's storage) is refused by the server's next request")
    func operatorRevocation() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite], name: "writer")
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"]}"#).decode(KeyResponse.self)
            let key = try #require(created.key)
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok) }

            // What `kaito admin` does while the server runs: its own storage on the same database.
            var logger = Logger(label: "kaito-test")
            logger.logLevel = .warning
            let operatorRuntime = try await Runtime.open(test.configuration, logger: logger)
            let organizationID = test.organization.id
            let now = test.clock.now()
            _ = try await operatorRuntime.storage.write { session in
                try await session.keys.revoke(id: created.id, organizationID: organizationID, at: now)
            }
            try await operatorRuntime.storage.close()

            let refused = try await client.send(.get, "/v1/tokens/a/code", key: key)
            #expect(refused.status == .unauthorized)
            #expect(try refused.problem().code == "invalid_key")
        }
    }

    @Test("A seed rotated is the next code's seed; a token deleted is the next fetch's 404")
    func tokenChanges() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensCode, .tokensWrite, .tokensSeed], name: "ops")
            #expect(try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            for _ in 0..<3 {
                #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).decode(CodeResponse.self).code == code(Self.secret, test))
            }
            let rotated = try await client.send(.post, "/v1/tokens/a/seed", key: key, json: #"{"secret": "\#(Self.otherSecret)"}"#)
            #expect(rotated.status == .ok, "\(rotated.text)")
            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).decode(CodeResponse.self).code == code(Self.otherSecret, test))
            #expect(try await client.send(.delete, "/v1/tokens/a", key: key).status == .noContent)
            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .notFound)
        }
    }

    @Test("Concurrent code reads: one event each, one intact chain, and a delivery for each once a webhook subscribes")
    func concurrentReadsAndSubscribers() async throws {
        try await withTestApp { test, client in
            let admin = test.adminKey
            let auditor = try await test.key([.auditRead], name: "auditor")
            let key = try await test.key([.tokensCode, .tokensWrite], name: "ops")
            #expect(try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok)

            // Reads before any subscriber: the writer learns that nobody subscribes.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<30 { group.addTask {
                    let status = try await client.send(.get, "/v1/tokens/a/code", key: key).status
                    #expect(status == .ok)
                }  }
                try await group.waitForAll()
            }
            let webhook = try await client.send(.post, "/v1/webhooks", key: admin, json: """
                {"url": "http://127.0.0.1:9/hook", "topics": ["audit.event"], "audit_actions": ["token.code.read"]}
                """).decode(WebhookResponse.self)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask {
                    let status = try await client.send(.get, "/v1/tokens/a/code", key: key).status
                    #expect(status == .ok)
                }  }
                try await group.waitForAll()
            }

            let reads = try await events(client, auditor, action: "token.code.read")
            #expect(reads.count == 51)
            #expect(Set(reads.map(\.seq)).count == 51)
            let deliveries = try await client.send(.get, "/v1/webhooks/\(webhook.id)/deliveries?limit=100", key: admin)
            #expect(try deliveries.decode(ListResponse<WebhookDeliveryResponse>.self).data.count == 20)
            let verified = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            #expect(verified.first?.result == .intact(events: try #require(reads.first?.seq)))
        }
    }

    @Test("Events another process appends between batches: the writer reads the chain again and it stays intact")
    func otherProcessAppends() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensCode, .tokensWrite], name: "ops")
            #expect(try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok) }

            var logger = Logger(label: "kaito-test")
            logger.logLevel = .warning
            let operatorRuntime = try await Runtime.open(test.configuration, logger: logger)
            for plan in [Plan.business, .enterprise] { _ = try await operatorRuntime.billing.changePlan(to: plan, by: try await operatorRuntime.asOperator(in: "default")) }
            try await operatorRuntime.storage.close()

            for _ in 0..<3 { #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok) }
            let verified = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            guard case .intact(let count) = verified.first?.result else {
                Issue.record("the chain is not intact: \(String(describing: verified.first?.result))")
                return
            }
            #expect(count >= 10)
        }
    }

    @Test("When the batch's audit write fails, no code leaves (503); the next batch writes an intact chain")
    func failClosedOnTheFastPath() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensCode, .tokensWrite], name: "ops")
            #expect(try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok)
            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok)

            try await test.execute("ALTER TABLE audit_events RENAME TO audit_events_away")
            let refused = try await client.send(.get, "/v1/tokens/a/code", key: key)
            #expect(refused.status == .serviceUnavailable)
            #expect(try refused.problem().code == "unavailable")
            #expect(!refused.text.contains(try code(Self.secret, test)))
            try await test.execute("ALTER TABLE audit_events_away RENAME TO audit_events")

            #expect(try await client.send(.get, "/v1/tokens/a/code", key: key).status == .ok)
            let verified = try await test.runtime.audit.verify(organizationIDs: [test.organization.id])
            guard case .intact = verified.first?.result else {
                Issue.record("the chain is not intact: \(String(describing: verified.first?.result))")
                return
            }
        }
    }

    func slugs(_ client: any TestClientProtocol, _ key: String, limit: Int) async throws -> [String] {
        var slugs: [String] = []
        var cursor: String?
        repeat {
            let query = "/v1/tokens?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try await client.send(.get, query, key: key).decode(ListResponse<TokenResponse>.self)
            slugs += page.data.map(\.slug)
            cursor = page.nextCursor
        } while cursor != nil
        return slugs
    }

    @Test("The token list answered from memory pages, binds and changes as the database does")
    func tokenList() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite, .tokensRead], name: "writer")
            let created = ["b", "a-1", "a1", "a", "c-c", "c"]
            for slug in created {
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#).status == .created)
            }
            let sorted = created.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for limit in [1, 2, 4, 10] { #expect(try await slugs(client, writer, limit: limit) == sorted, "limit \(limit)") }

            let bound = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "r", "scopes": ["tokens:read"], "token_slugs": ["c", "a1", "zz"]}"#)
            let boundKey = try #require(try bound.decode(KeyResponse.self).key)
            for limit in [1, 2, 10] { #expect(try await slugs(client, boundKey, limit: limit) == ["a1", "c"]) }

            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "zz", "secret": "\#(Self.secret)"}"#).status == .created)
            // A token created is listed at once (the creation alone empties the cached list).
            #expect(try await slugs(client, boundKey, limit: 1) == ["a1", "c", "zz"])
            #expect(try await client.send(.delete, "/v1/tokens/a1", key: writer).status == .noContent)
            #expect(try await slugs(client, boundKey, limit: 1) == ["c", "zz"])
            #expect(try await slugs(client, writer, limit: 3) == sorted.filter { $0 != "a1" } + ["zz"])
        }
    }
}
