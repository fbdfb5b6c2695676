import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Rate limits (docs/api.md#rate-limits)")
struct RateLimitTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    @Test("60 code fetches pass, the 61st is 429 with Retry-After: 1, one more passes a second later")
    func codeLimit() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let key = try await test.key([.tokensCode])
            for index in 0..<60 {
                let response = try await client.send(.get, "/v1/tokens/s/code", key: key)
                #expect(response.status == .ok)
                #expect(response.headers[.rateLimitPolicy] == #""code";q=60;w=60"#)
                #expect(response.headers[.rateLimit] == #""code";r=\#(59 - index);t=\#(index + 1)"#)
            }
            let refused = try await client.send(.get, "/v1/tokens/s/code", key: key)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(refused.headers[.rateLimit] == #""code";r=0;t=60"#)
            #expect(try refused.problem().code == "rate_limited")
            #expect(try await client.send(.get, "/v1/tokens/s/code", key: key).status == .tooManyRequests)

            test.clock.advance(by: 1)
            let again = try await client.send(.get, "/v1/tokens/s/code", key: key)
            #expect(again.status == .ok)
            #expect(again.headers[.rateLimit] == #""code";r=0;t=60"#)
            #expect(try await client.send(.get, "/v1/tokens/s/code", key: key).status == .tooManyRequests)

            // Groups are separate: reads still pass for a key that has both scopes.
            let both = try await test.key([.tokensCode, .tokensRead])
            for _ in 0..<60 { _ = try await client.send(.get, "/v1/tokens/s/code", key: both) }
            let read = try await client.send(.get, "/v1/tokens", key: both)
            #expect(read.status == .ok)
            #expect(read.headers[.rateLimitPolicy] == #""read";q=300;w=60"#)

            // 429s are counted in metrics.
            let metrics = try await client.send(.get, "/metrics").text
            #expect(metrics.contains(#"route="/v1/tokens/{slug}/code",method="GET",status="429",scope_outcome="limited"} 3"#))
        }
    }

    @Test("A refused write changes nothing")
    func refusedWrite() async throws {
        try await withTestApp { test, client in
            let key = try await test.key([.tokensWrite, .tokensRead])
            for index in 0..<60 {
                let created = try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "t\#(index)", "secret": "\#(Self.secret)"}"#)
                #expect(created.status == .created)
                #expect(created.headers[.rateLimitPolicy] == #""write";q=60;w=60"#)
            }
            let refused = try await client.send(.post, "/v1/tokens", key: key, json: #"{"slug": "extra", "secret": "\#(Self.secret)"}"#)
            #expect(refused.status == .tooManyRequests)
            #expect(try await client.send(.get, "/v1/tokens/extra", key: key).status == .notFound)
        }
    }

    @Test("Every limited route carries the headers, failures included; unlimited routes do not")
    func headersEverywhere() async throws {
        try await withTestApp { test, client in
            let key = try await test.key(Set(Scope.allCases))
            let cases: [(HTTPRequestMethod, String, String?, String)] = [
                (.get, "/v1/tokens", nil, "read"), (.get, "/v1/tokens/missing", nil, "read"),
                (.get, "/v1/tokens/missing/code", nil, "code"), (.post, "/v1/tokens", #"{"slug": "x"}"#, "write"),
                (.get, "/v1/keys/self", nil, "read"), (.delete, "/v1/tokens/missing", nil, "write"),
            ]
            for (method, path, body, group) in cases {
                let response = try await client.send(method, path, key: key, json: body)
                #expect(response.headers[.rateLimitPolicy]?.hasPrefix("\"\(group)\";") == true, "\(method) \(path)")
                #expect(response.headers[.rateLimit]?.hasPrefix("\"\(group)\";r=") == true, "\(method) \(path)")
            }
            #expect(try await client.send(.get, "/health").headers[.rateLimit] == nil)
        }
    }

    @Test("Per-key limits need Enterprise; then they apply")
    func overrides() async throws {
        try await withTestApp { test, client in
            let body = #"{"name": "fast", "scopes": ["tokens:code", "tokens:write"], "rate_limits": {"code": 120, "write": 2}}"#
            let refused = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body)
            #expect(refused.status == .forbidden)
            let problem = try refused.problem()
            #expect(problem.code == "plan_required" && problem.requiredPlan == "enterprise")

            _ = try await test.runtime.billing.changePlan(to: Plan.enterprise, by: try await test.runtime.asOperator(in: "default"))
            let invalid = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "x", "scopes": ["tokens:code"], "rate_limits": {"code": 0}}"#)
            #expect(invalid.status == .unprocessableContent)
            #expect(try invalid.problem().errors?.first?.field == "rate_limits.code")

            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: body)
            #expect(created.status == .created)
            let key = try created.decode(KeyResponse.self)
            #expect(key.rateLimits == RateLimitsBody(code: 120, read: 300, write: 2))
            let secret = try #require(key.key)
            #expect(try await client.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "a", "secret": "\#(Self.secret)"}"#).status == .created)
            #expect(try await client.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "b", "secret": "\#(Self.secret)"}"#).status == .created)
            #expect(try await client.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "c", "secret": "\#(Self.secret)"}"#).status == .tooManyRequests)
            let code = try await client.send(.get, "/v1/tokens/a/code", key: secret)
            #expect(code.headers[.rateLimitPolicy] == #""code";q=120;w=60"#)
        }
    }

    @Test("GET /v1/keys/self shows the standing in every group without spending code or write units")
    func standing() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "\#(Self.secret)"}"#)
            let key = try await test.key([.tokensCode])
            for _ in 0..<5 { _ = try await client.send(.get, "/v1/tokens/s/code", key: key) }
            let body = try await client.send(.get, "/v1/keys/self", key: key).decode(KeyResponse.self)
            let standing = try #require(body.rateLimitStanding)
            #expect(standing["code"] == RateLimitStanding(limit: 60, remaining: 55, reset: 5))
            #expect(standing["write"] == RateLimitStanding(limit: 60, remaining: 60, reset: 0))
            #expect(standing["read"]?.remaining == 299)
        }
    }
}

import HTTPTypes

extension HTTPField.Name {
    static let rateLimit = HTTPField.Name("RateLimit")!
    static let rateLimitPolicy = HTTPField.Name("RateLimit-Policy")!
}
