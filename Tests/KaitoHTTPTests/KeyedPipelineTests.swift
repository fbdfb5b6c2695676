import Foundation
import HTTPTypes
@testable import KaitoHTTP
import KaitoCore
import KaitoTestSupport
import NIOCore
import Testing

/// The security steps of a keyed request, each alone, without a router or a socket: who calls, may it call the route,
/// is it within its rate. (The HTTP tests hold them together, in their order, on every route.)
@Suite("The keyed pipeline's steps, one at a time")
struct KeyedPipelineTests {
    static func pipeline(_ test: TestRuntime, trustedProxies: [CIDR] = []) -> KeyedPipeline {
        KeyedPipeline(
            keys: test.runtime.keys, rateLimits: test.runtime.storage.rateLimits, clock: test.clock,
            clientAddress: ClientAddress(trustedProxies: trustedProxies))
    }

    static func key(_ test: TestRuntime, _ draft: KeyDraft) async throws -> String {
        let organizationID = test.organization.id
        let runtime = test.runtime
        return try await runtime.storage.write { session in
            try await runtime.keys.create(draft, organizationID: organizationID, createdBy: "operator", session: session)
        }.1.value
    }

    static func denials(_ test: TestRuntime) async throws -> [AuditEvent] {
        let auditor = try await test.runtime.keys.authenticate(authorization: "Bearer " + test.adminKey)
        return try await test.runtime.audit.list(by: auditor, filter: AuditFilter(action: "auth.denied"), beforeSeq: nil, limit: 100).items
    }

    static func code(of error: any Error) -> String? { (error as? KaitoError)?.code.rawValue }

    @Test("authenticate: no key and a wrong key are 401; the address is the peer's, or the forwarded one only behind a trusted proxy")
    func authenticate() async throws {
        try await withTestRuntime { test in
            let peer = try SocketAddress(ipAddress: "10.1.2.3", port: 40_000)
            let pipeline = Self.pipeline(test, trustedProxies: [CIDR("10.0.0.0/8")!])
            await #expect { try await pipeline.authenticate([:], peer: peer, requestID: "req_1") } throws: { Self.code(of: $0) == "missing_key" }
            await #expect { try await pipeline.authenticate([.authorization: "Bearer kto_live_nope"], peer: peer, requestID: "req_2") } throws: {
                Self.code(of: $0) == "invalid_key"
            }
            let secret = try await test.key([.tokensRead])
            let forwarded: HTTPFields = [.authorization: "Bearer " + secret, HTTPField.Name("X-Forwarded-For")!: "203.0.113.9, 10.9.9.9"]
            let behindProxy = try await pipeline.authenticate(forwarded, peer: peer, requestID: "req_3")
            #expect(behindProxy.address == IPAddress("203.0.113.9"), "the right-most address that is not a trusted proxy")
            #expect(behindProxy.key.scopes == [.tokensRead])
            let direct = try await Self.pipeline(test).authenticate(forwarded, peer: peer, requestID: "req_4")
            #expect(direct.address == IPAddress("10.1.2.3"), "from a peer that is no trusted proxy, X-Forwarded-For is ignored")
        }
    }

    @Test("authorize: the address first, then the scope; each refusal is 403 and an audited denial about the route's token")
    func authorize() async throws {
        try await withTestRuntime { test in
            let pipeline = Self.pipeline(test)
            var restricted = KeyDraft(name: "restricted", scopes: [.tokensRead])
            restricted.allowedCIDRs = [CIDR("203.0.113.0/24")!]
            let restrictedSecret = try await Self.key(test, restricted)
            let outside = try await pipeline.authenticate(
                [.authorization: "Bearer " + restrictedSecret], peer: try SocketAddress(ipAddress: "198.51.100.7", port: 1), requestID: "req_a")
            let token = AuditEvent.Target(type: "token", id: "aws-prod")
            // The address is checked before the scope: a route it lacks the scope for is refused for its address.
            await #expect { try await pipeline.authorize(outside, for: .scope(.tokensWrite), target: token) } throws: { Self.code(of: $0) == "ip_not_allowed" }

            let reader = try await pipeline.authenticate(
                [.authorization: "Bearer " + (try await test.key([.tokensRead], name: "reader"))], peer: nil, requestID: "req_b")
            await #expect { try await pipeline.authorize(reader, for: .scope(.tokensWrite), target: nil) } throws: { Self.code(of: $0) == "insufficient_scope" }
            await #expect { try await pipeline.authorize(reader, for: .anyOf([.orgAdmin, .smsRead]), target: nil) } throws: {
                Self.code(of: $0) == "insufficient_scope"
            }
            try await pipeline.authorize(reader, for: .scope(.tokensRead), target: token)
            try await pipeline.authorize(reader, for: .anyOf([.orgAdmin, .tokensRead]), target: nil)
            try await pipeline.authorize(reader, for: .anyKey, target: nil)

            // The first refusal of each key and reason is written at once; the repeat of the minute is folded into
            // one event with its count, written when the minute ends (here: at once, as at a shutdown).
            #expect(try await Self.denials(test).count == 2)
            try await test.runtime.audit.flushFoldedDenials(all: true)
            let denials = try await Self.denials(test)
            #expect(denials.reduce(0) { $0 + $1.count } == 3, "one per refusal, none for what was allowed")
            let address = denials.first { $0.reason == "ip_not_allowed" }
            #expect(address?.actor.id == outside.key.id && address?.target == token && address?.ip == "198.51.100.7")
            #expect(denials.filter { $0.reason == "insufficient_scope" }.allSatisfy { $0.actor.id == reader.key.id && $0.target == nil })
        }
    }

    @Test("limit: within the key's rate, the headers every response carries; beyond it, 429 with Retry-After and the same headers")
    func limit() async throws {
        try await withTestRuntime { test in
            _ = try await test.runtime.billing.changePlan(to: .enterprise, by: .operator(organizationID: test.organization.id))
            var draft = KeyDraft(name: "limited", scopes: [.tokensRead])
            draft.rateLimits = RateLimitOverrides(code: 2)
            let caller = try await Self.pipeline(test).authenticate(
                [.authorization: "Bearer " + (try await Self.key(test, draft))], peer: nil, requestID: "req_l")
            let pipeline = Self.pipeline(test)
            for remaining in [1, 0] {
                guard case .allowed(let headers) = try await pipeline.limit(caller, group: .code, requestID: "req_l") else {
                    Issue.record("refused within the limit")
                    return
                }
                #expect(headers[RateLimitHeaders.policy] == #""code";q=2;w=60"#)
                #expect(headers[RateLimitHeaders.state]?.hasPrefix(#""code";r=\#(remaining);t="#) == true)
            }
            guard case .refused(let response) = try await pipeline.limit(caller, group: .code, requestID: "req_l") else {
                Issue.record("the third request of a 2-a-minute key was let through")
                return
            }
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "30", "the next one of two a minute is due in 30 s")
            #expect(response.headers[RateLimitHeaders.policy] == #""code";q=2;w=60"#)
            // Another group of the same key has its own budget.
            guard case .allowed = try await pipeline.limit(caller, group: .read, requestID: "req_l") else {
                Issue.record("the read group was refused for the code group's use")
                return
            }
            // When the interval has passed, one more.
            test.clock.advance(by: 30)
            guard case .allowed = try await pipeline.limit(caller, group: .code, requestID: "req_l") else {
                Issue.record("still refused after Retry-After")
                return
            }
        }
    }
}
