import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Audit log (docs/api.md#audit-log)")
struct AuditTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    func events(_ client: any TestClientProtocol, _ key: String, _ query: String = "") async throws -> [AuditEventResponse] {
        let response = try await client.send(.get, "/v1/audit" + query, key: key)
        #expect(response.status == .ok, "\(response.text)")
        return try response.decode(ListResponse<AuditEventResponse>.self).data
    }

    @Test("Every action appears once with its actor, target, address, user agent and request id; seeds are flagged")
    func actions() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let all = try await test.key([.tokensWrite, .tokensCode, .tokensSeed, .tokensRead], name: "ops")
            let agent: HTTPFields = [.userAgent: "release-bot/1.0", HTTPField.Name("X-Request-Id")!: "req-audit-1"]
            _ = try await client.send(.post, "/v1/tokens", key: all, json: #"{"slug": "aws-prod", "secret": "\#(Self.secret)"}"#)
            let code = try await client.send(.get, "/v1/tokens/aws-prod/code", key: all, headers: agent).decode(CodeResponse.self)
            _ = try await client.send(.get, "/v1/tokens", key: all)  // a list is not audited
            _ = try await client.send(.get, "/v1/tokens/aws-prod/seed", key: all)
            _ = try await client.send(.post, "/v1/tokens/aws-prod/seed", key: all, json: #"{"secret": "MZXW6YTBOI4DAMRX"}"#)
            _ = try await client.send(.patch, "/v1/tokens/aws-prod", key: all, json: #"{"name": "x"}"#)
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "k", "scopes": ["tokens:read"]}"#).decode(KeyResponse.self)
            _ = try await client.send(.patch, "/v1/keys/\(created.id)", key: test.adminKey, json: #"{"name": "k2"}"#)
            _ = try await client.send(.delete, "/v1/keys/\(created.id)", key: test.adminKey)
            _ = try await client.send(.delete, "/v1/tokens/aws-prod", key: all)

            let list = try await events(client, auditor, "?limit=200")
            let actions = list.reversed().map(\.action)
            #expect(actions == [
                "org.create", "token.create", "token.code.read", "token.seed.read", "token.seed.rotate", "token.update",
                "key.create", "key.update", "key.revoke", "token.delete",
            ])
            let read = try #require(list.first { $0.action == "token.code.read" })
            let opsID = try await client.send(.get, "/v1/keys/self", key: all).decode(KeyResponse.self).id
            #expect(read.actor == .init(type: "key", id: opsID, name: "ops"))
            #expect(read.target == .init(type: "token", id: "aws-prod"))
            #expect(read.outcome == "success" && !read.flagged)
            #expect(read.userAgent == "release-bot/1.0" && read.requestID == "req-audit-1")
            #expect(read.at == Timestamp.format(test.clock.now()))
            #expect(list.filter(\.flagged).map(\.action).sorted() == ["token.seed.read", "token.seed.rotate"])
            #expect(list.first { $0.action == "key.create" }?.target == .init(type: "key", id: created.id))
            // Sequence numbers and links form one chain.
            let ordered = list.reversed().map { $0 }
            #expect(ordered.map(\.seq) == Array(1...ordered.count))
            for (previous, event) in zip(ordered, ordered.dropFirst()) { #expect(event.prevHash == previous.hash) }

            // No secret ever appears: not the seed, not a key, not the code.
            let export = try await client.send(.get, "/v1/audit/export", key: auditor).text
            for secret in [Self.secret, "MZXW6YTBOI4DAMRX", all, test.adminKey, code.code] {
                #expect(!export.contains(secret))
            }
            #expect(try await test.runtime.audit.verify() .allSatisfy { if case .intact = $0.result { true } else { false } })
        }
    }

    @Test("Refusals of known keys are recorded: 403s, and revoked, expired or spent keys")
    func denials() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let reader = try await test.key([.tokensRead], name: "reader")
            _ = try await client.send(.get, "/v1/tokens/x/seed", key: reader)
            let single = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "once", "scopes": ["tokens:read"], "single_use": true}"#).decode(KeyResponse.self)
            _ = try await client.send(.get, "/v1/tokens", key: single.key)
            _ = try await client.send(.get, "/v1/tokens", key: single.key)
            let expiring = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "soon", "scopes": ["tokens:read"], "expires_at": "\#(Timestamp.format(test.clock.now().addingTimeInterval(5)))"}"#).decode(KeyResponse.self)
            test.clock.advance(by: 5)
            _ = try await client.send(.get, "/v1/tokens", key: expiring.key)
            // Unknown keys name nobody: nothing is recorded for them.
            _ = try await client.send(.get, "/v1/tokens", key: "kto_live_0000000000000000000000000000000000000")

            let denied = try await events(client, auditor, "?outcome=denied")
            #expect(denied.map(\.reason) == ["key_expired", "invalid_key", "insufficient_scope"])
            #expect(denied.allSatisfy { $0.action == "auth.denied" })
            #expect(denied.last?.target == .init(type: "token", id: "x"))
            #expect(denied.first?.actor.id == expiring.id)
        }
    }

    @Test("Filters, and a cursor that stays valid while new events arrive")
    func filtersAndPagination() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let ops = try await test.key([.tokensWrite, .tokensCode, .tokensSeed], name: "ops")
            for slug in ["aws-prod", "aws-staging", "github"] {
                _ = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#)
            }
            test.clock.advance(by: 100)
            let since = Timestamp.format(test.clock.now())
            for _ in 0..<3 { _ = try await client.send(.get, "/v1/tokens/aws-prod/code", key: ops) }
            _ = try await client.send(.get, "/v1/tokens/github/seed", key: ops)

            #expect(try await events(client, auditor, "?action=token.code.read&target=aws-prod").count == 3)
            #expect(try await events(client, auditor, "?action=token.*").count == 7)
            #expect(try await events(client, auditor, "?action=token.seed.*").count == 1)
            #expect(try await events(client, auditor, "?flagged=true").map(\.target?.id) == ["github"])
            #expect(try await events(client, auditor, "?since=\(since)").count == 4)
            #expect(try await events(client, auditor, "?until=\(since)").count == 4)  // org.create and three creates
            let opsID = try await client.send(.get, "/v1/keys/self", key: ops).decode(KeyResponse.self).id
            #expect(try await events(client, auditor, "?actor=\(opsID)").count == 7)
            for bad in ["?action=token%", "?action=*", "?flagged=yes", "?outcome=maybe", "?since=yesterday", "?cursor=zzz", "?sort=asc"] {
                #expect(try await client.send(.get, "/v1/audit" + bad, key: auditor).status == .badRequest, "\(bad)")
            }

            // Page through newest first while new events keep arriving: no repeats, no gaps.
            var seen: [Int] = []
            var cursor: String?
            let first = try await client.send(.get, "/v1/audit?limit=3", key: auditor).decode(ListResponse<AuditEventResponse>.self)
            seen += first.data.map(\.seq)
            cursor = first.nextCursor
            while let next = cursor {
                _ = try await client.send(.get, "/v1/tokens/aws-prod/code", key: ops)  // a newer event meanwhile
                let page = try await client.send(.get, "/v1/audit?limit=3&cursor=\(next)", key: auditor).decode(ListResponse<AuditEventResponse>.self)
                seen += page.data.map(\.seq)
                cursor = page.nextCursor
            }
            #expect(seen == Array((1...8).reversed()))
        }
    }

    @Test("The export streams every event as JSON Lines in chain order")
    func export() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            // 10,000 events written straight through the audit log (as 10,000 requests would).
            let log = AuditLog(random: SystemRandomSource(), chain: test.runtime.keyring.auditChain)
            let organizationID = test.organization.id
            let now = test.clock.now()
            for batch in 0..<10 {
                try await test.runtime.storage.write { session in
                    for index in 0..<1000 {
                        try await log.append(
                            .token(.tokenCodeRead, "t\(batch * 1000 + index)"), actor: .init(type: "key", id: "key_x", name: "bulk"),
                            organizationID: organizationID, ip: "192.0.2.1", origin: RequestOrigin(), at: now, in: session)
                    }
                }
            }
            let response = try await client.send(.get, "/v1/audit/export?action=token.code.read", key: auditor)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let lines = response.text.split(separator: "\n")
            #expect(lines.count == 10_000)
            let decoded = try lines.map { try JSONDecoder().decode(AuditEventResponse.self, from: Data($0.utf8)) }
            #expect(decoded.map(\.seq) == Array(2...10_001))
            #expect(decoded.last?.target?.id == "t9999")
            #expect(try await test.runtime.audit.verify(organizationIDs: [organizationID]).first?.result == .intact(events: 10_001))
        }
    }

    @Test("Tampering, deletion and reordering are each detected at the right event", arguments: ["tamper", "delete", "reorder", "truncate"])
    func tamperDetection(kind: String) async throws {
        try await withTestApp { test, client in
            let ops = try await test.key([.tokensWrite, .tokensCode], name: "ops")
            _ = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            for _ in 0..<4 { _ = try await client.send(.get, "/v1/tokens/s/code", key: ops) }
            let org = test.organization.id
            #expect(try await test.runtime.audit.verify(organizationIDs: [org]).first?.result == .intact(events: 6))
            switch kind {
            case "tamper": try await test.execute("UPDATE audit_events SET ip = '198.51.100.66' WHERE org_id = '\(org)' AND seq = 4")
            case "delete": try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq = 4")
            case "reorder":
                try await test.execute("UPDATE audit_events SET seq = 100 WHERE org_id = '\(org)' AND seq = 4")
                try await test.execute("UPDATE audit_events SET seq = 4 WHERE org_id = '\(org)' AND seq = 5")
                try await test.execute("UPDATE audit_events SET seq = 5 WHERE org_id = '\(org)' AND seq = 100")
            default: try await test.execute("DELETE FROM audit_events WHERE org_id = '\(org)' AND seq = 6")
            }
            let result = try #require(try await test.runtime.audit.verify(organizationIDs: [org]).first?.result)
            guard case .broken(let seq, _) = result else {
                Issue.record("not detected: \(result)")
                return
            }
            #expect(seq == (kind == "truncate" ? 6 : 4))
        }
    }

    @Test("If the audit log cannot be written, a code fetch is 503 and no code leaves; nothing changes")
    func failClosed() async throws {
        try await withTestApp { test, client in
            let ops = try await test.key([.tokensWrite, .tokensCode, .tokensRead], name: "ops")
            _ = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let code = TOTP.code(secret: try Base32.decode(Self.secret), at: test.clock.now(), parameters: TOTPParameters()).code
            try await test.execute("DROP TABLE audit_events")
            let response = try await client.send(.get, "/v1/tokens/s/code", key: ops)
            #expect(response.status == .serviceUnavailable)
            #expect(try response.problem().code == "unavailable")
            #expect(!response.text.contains(code))
            let created = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "t", "secret": "\#(Self.secret)"}"#)
            #expect(created.status == .serviceUnavailable)
            #expect(try await client.send(.get, "/v1/tokens/t", key: ops).status == .notFound)
        }
    }

    @Test("Retention prunes old events and leaves every chain verifiable from its anchor")
    func retention() async throws {
        try await withTestApp { test, client in
            let auditor = try await test.key([.auditRead], name: "auditor")
            let ops = try await test.key([.tokensWrite, .tokensCode], name: "ops")
            _ = try await client.send(.post, "/v1/tokens", key: ops, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            for _ in 0..<3 { _ = try await client.send(.get, "/v1/tokens/s/code", key: ops) }
            test.clock.advance(by: 40 * 86_400)
            for _ in 0..<2 { _ = try await client.send(.get, "/v1/tokens/s/code", key: ops) }
            // org.create, token.create and three reads are 40 days old.
            #expect(try await test.runtime.audit.prune(retentionDays: 30, now: test.clock.now()) == 5)
            #expect(try await test.runtime.audit.prune(retentionDays: 30, now: test.clock.now()) == 0)
            let left = try await events(client, auditor)
            #expect(left.map(\.seq) == [7, 6])
            #expect(try await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first?.result == .intact(events: 2))
            _ = try await client.send(.get, "/v1/tokens/s/code", key: ops)
            #expect(try await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first?.result == .intact(events: 3))
            // Deleting the oldest kept event is still detected.
            try await test.execute("DELETE FROM audit_events WHERE seq = 6")
            guard case .broken(let seq, _) = try #require(try await test.runtime.audit.verify(organizationIDs: [test.organization.id]).first?.result) else {
                Issue.record("deletion after the anchor not detected")
                return
            }
            #expect(seq == 6)
        }
    }
}
