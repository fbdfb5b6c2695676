import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// `Idempotency-Key` on every keyed `POST`: the first answer is kept and replayed, another request with the key is
/// refused, a running one is not run twice, server errors and rate limits are not kept, and kept answers are sealed
/// and swept after 24 hours. On SQLite, and on PostgreSQL when `KAITO_TEST_DATABASE_URL` is set.
@Suite("Idempotency keys")
struct IdempotencyTests {
    static func header(_ value: String) -> HTTPFields { [HTTPField.Name("Idempotency-Key")!: value] }

    static func keyCount(_ client: any TestClientProtocol, _ admin: String) async throws -> Int {
        try await client.send(.get, "/v1/keys?limit=200", key: admin).decode(ListResponse<KeyResponse>.self).data.count
    }

    @Test("A retried POST gets the first answer again (the same new key, once), marked Idempotent-Replayed; the key is sealed in the database files")
    func replay() async throws {
        try await withTestApp { test, client in
            let before = try await Self.keyCount(client, test.adminKey)
            let body = #"{"name": "deploys", "scopes": ["tokens:code"]}"#
            let first = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("deploy-4711"))
            #expect(first.status == .created && first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let made = try first.decode(KeyResponse.self)
            let secret = try #require(made.key)
            for _ in 0..<3 {
                let again = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("deploy-4711"))
                #expect(again.status == .created && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                #expect(again.headers[.location] == "/v1/keys/\(made.id)" && again.headers[.cacheControl] == "no-store")
                let replayed = try again.decode(KeyResponse.self)
                #expect(replayed.id == made.id && replayed.key == secret)
            }
            #expect(try await Self.keyCount(client, test.adminKey) == before + 1, "one key, however many retries")
            // The key works, and the kept answer that holds it is sealed: not in the database files.
            #expect(try await client.send(.get, "/v1/keys/self", key: secret).status == .ok)
            if case .sqlite = test.backend {
                let bytes = try test.directory.fileBytes()
                #expect(bytes.contains(subsequence: Array("deploy-4711".utf8)), "positive control: the idempotency key itself is stored")
                #expect(!bytes.contains(subsequence: Array(secret.utf8)), "the kept key is sealed")
            }
            // Without the header, or with another key, the request runs again.
            #expect(try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("deploy-4712")).status == .created)
            #expect(try await client.send(.post, "/v1/keys", key: test.adminKey, json: body).status == .created)
            #expect(try await Self.keyCount(client, test.adminKey) == before + 3)
        }
    }

    @Test("The same key with another body or path is 422 idempotency_key_reused and runs nothing; from another API key it is another request")
    func reused() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            let created = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#, headers: Self.header("k1"))
            #expect(created.status == .created)
            // Another path with the same key (from a key that may call both).
            let admin = test.adminKey
            #expect(try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "a", "scopes": ["tokens:read"]}"#, headers: Self.header("k2")).status == .created)
            let elsewhere = try await client.send(.post, "/v1/webhooks", key: admin, json: #"{"url": "http://127.0.0.1:9/x", "topics": ["audit.event"]}"#, headers: Self.header("k2"))
            #expect(elsewhere.status == .unprocessableContent && (try? elsewhere.problem().code) == "idempotency_key_reused", "\(elsewhere.text)")
            let sameBodyOtherCase = try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "A", "scopes": ["tokens:read"]}"#, headers: Self.header("k2"))
            #expect((try? sameBodyOtherCase.problem().code) == "idempotency_key_reused", "one byte of a value differs")
            // The same JSON spelt otherwise (keys in another order, other whitespace) is the same request: replayed.
            let respelt = try await client.send(.post, "/v1/keys", key: admin, json: "{ \"scopes\" : [\"tokens:read\"],\n  \"name\": \"a\" }", headers: Self.header("k2"))
            #expect(respelt.status == .created && respelt.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "\(respelt.text)")
            let mismatch = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "gcp-prod", "secret": "JBSWY3DPEHPK3PXP"}"#, headers: Self.header("k1"))
            #expect(try mismatch.problem().code == "idempotency_key_reused")
            let tokens = try await client.send(.get, "/v1/tokens", key: try await test.key([.tokensRead])).decode(ListResponse<TokenResponse>.self).data
            #expect(tokens.map(\.slug) == ["aws-prod"], "nothing ran")
            // Another API key's "k1" is its own.
            let other = try await test.key([.tokensWrite])
            #expect(try await client.send(.post, "/v1/tokens", key: other, json: #"{"slug": "gcp-prod", "secret": "JBSWY3DPEHPK3PXP"}"#, headers: Self.header("k1")).status == .created)
        }
    }

    @Test("A refusal is an answer too (kept and replayed); malformed keys are 400 and change nothing; GET ignores the header")
    func refusalsAndMalformedKeys() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            let invalid = #"{"slug": "Not A Slug", "secret": "JBSWY3DPEHPK3PXP"}"#
            let first = try await client.send(.post, "/v1/tokens", key: writer, json: invalid, headers: Self.header("bad-slug"))
            #expect(first.status == .unprocessableContent && first.headers[HTTPField.Name("Idempotent-Replayed")!] == nil)
            let again = try await client.send(.post, "/v1/tokens", key: writer, json: invalid, headers: Self.header("bad-slug"))
            #expect(again.status == .unprocessableContent && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try again.problem().code == "validation_failed" && again.text == first.text)

            for value in ["", String(repeating: "k", count: 256), "naïve", "tab\there"] {
                let refused = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "x", "secret": "JBSWY3DPEHPK3PXP"}"#, headers: Self.header(value))
                #expect(refused.status == .badRequest && (try? refused.problem().code) == "malformed_request", "\(value.prefix(10)): \(refused.status)")
            }
            #expect(try await client.send(.get, "/v1/tokens", key: try await test.key([.tokensRead])).decode(ListResponse<TokenResponse>.self).data.isEmpty)
            let read = try await client.send(.get, "/v1/tokens", key: try await test.key([.tokensRead]), headers: Self.header(""))
            #expect(read.status == .ok, "other methods ignore the header")
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "x", "secret": "JBSWY3DPEHPK3PXP"}"#,
                                          headers: Self.header(String(repeating: "k", count: 255))).status == .created)
        }
    }

    @Test("A rate-limited answer is not kept: the retry after the limit refills runs; kept answers go after 24 hours")
    func notKeptAndSwept() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await withTestApp(clock: clock) { test, client in
            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let limited = try #require(try await client.send(.post, "/v1/keys", key: test.adminKey, json: """
                {"name": "slow", "scopes": ["tokens:write"], "rate_limits": {"write": 1}}
                """).decode(KeyResponse.self).key)
            let body = { (slug: String) in #"{"slug": "\#(slug)", "secret": "JBSWY3DPEHPK3PXP"}"# }
            #expect(try await client.send(.post, "/v1/tokens", key: limited, json: body("one"), headers: Self.header("a")).status == .created)
            let throttled = try await client.send(.post, "/v1/tokens", key: limited, json: body("two"), headers: Self.header("b"))
            #expect(throttled.status == .tooManyRequests)
            clock.advance(by: 61)
            let retried = try await client.send(.post, "/v1/tokens", key: limited, json: body("two"), headers: Self.header("b"))
            #expect(retried.status == .created && retried.headers[HTTPField.Name("Idempotent-Replayed")!] == nil, "the 429 was not kept: the retry ran")

            // After 24 hours the answer is gone (swept, and not replayed even before the sweep).
            clock.advance(by: 24 * 3600 + 1)
            let expired = try await client.send(.post, "/v1/tokens", key: limited, json: body("one"), headers: Self.header("a"))
            #expect(expired.status == .conflict && expired.headers[HTTPField.Name("Idempotent-Replayed")!] == nil, "ran again: the slug is taken")
            clock.advance(by: 24 * 3600 + 1)
            #expect(try await test.runtime.idempotency.sweep() >= 1)
        }
    }

    @Test("A first request that committed its change but lost its answer is never run again; one that stopped before any change runs on retry")
    func lostAnswers() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await withTestApp(clock: clock) { test, client in
            let body = #"{"name": "once", "scopes": ["tokens:read"]}"#
            #expect(try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("lost")).status == .created)
            let before = try await Self.keyCount(client, test.adminKey)
            // The change committed (the claim says so), then the answer was lost: the server stopped before keeping it.
            try await test.execute("UPDATE idempotency_keys SET status = NULL, sealed_body = NULL WHERE idempotency_key = 'lost'")
            let busy = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("lost"))
            #expect(busy.status == .conflict && busy.headers[.retryAfter] == "1", "within two minutes it may still be running")
            clock.advance(by: IdempotencyService.abandonedAfter + 1)
            let lost = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("lost"))
            #expect(lost.status == .conflict && (try? lost.problem().code) == "idempotency_key_in_use" && lost.text.contains("took effect"), "\(lost.text)")
            #expect(try await Self.keyCount(client, test.adminKey) == before, "not run again")

            // A claim whose server stopped before any change: after two minutes a retry runs it.
            let me = try await client.send(.get, "/v1/keys/self", key: test.adminKey).decode(KeyResponse.self).id
            let stale = Int(clock.now().timeIntervalSince1970) - Int(IdempotencyService.abandonedAfter) - 1
            try await test.execute("""
                INSERT INTO idempotency_keys (id, org_id, key_id, idempotency_key, fingerprint, committed, created_at)
                VALUES ('idk_stale', '\(test.organization.id)', '\(me)', 'stopped', 'x', 0, \(stale))
                """)
            let rerun = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body, headers: Self.header("stopped"))
            #expect(rerun.status == .created && rerun.headers[HTTPField.Name("Idempotent-Replayed")!] == nil, "\(rerun.text)")
            #expect(try await Self.keyCount(client, test.adminKey) == before + 1)
        }
    }

    @Test("32 concurrent POSTs with one key on a real socket: one endpoint registered; the others answered with it or told it is running")
    func race() async throws {
        try await withTestApp(.live) { test, client in
            let admin = test.adminKey
            let body = #"{"url": "http://127.0.0.1:9/kaito", "topics": ["audit.event"]}"#
            let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<32 {
                    group.addTask { try await client.send(.post, "/v1/webhooks", key: admin, json: body, headers: Self.header("register-once")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = answers.map(\.status.code)
            #expect(statuses.allSatisfy { $0 == 201 || $0 == 409 }, "\(statuses)")
            let created = answers.filter { $0.status == .created }
            #expect(created.filter { $0.headers[HTTPField.Name("Idempotent-Replayed")!] == nil }.count == 1, "one ran")
            #expect(Set(try created.map { try $0.object()["id"] as? String }).count == 1, "the replays name the same endpoint")
            for busy in answers where busy.status == .conflict {
                #expect(try busy.problem().code == "idempotency_key_in_use" && busy.headers[.retryAfter] == "1")
            }
            let endpoints = try await client.send(.get, "/v1/webhooks", key: admin).object()["data"] as? [[String: Any]]
            #expect(endpoints?.count == 1)
        }
    }
}
