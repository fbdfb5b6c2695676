import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Key restrictions (docs/api.md#keys)")
struct KeyRestrictionTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    func createKey(_ client: any TestClientProtocol, _ admin: String, _ body: String) async throws -> KeyResponse {
        let response = try await client.send(.post, "/v1/keys", key: admin, json: body)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(KeyResponse.self)
    }

    func makeTokens(_ test: TestRuntime, _ client: any TestClientProtocol, _ slugs: [String]) async throws {
        let writer = try await test.key([.tokensWrite])
        for slug in slugs {
            #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#).status == .created)
        }
    }

    @Test("expires_at: refused in the past, key_expired after it")
    func expiry() async throws {
        try await withTestApp { test, client in
            let past = Timestamp.format(test.clock.now().addingTimeInterval(-1))
            let refused = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "x", "scopes": ["tokens:read"], "expires_at": "\#(past)"}"#)
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.problem().errors?.first?.field == "expires_at")
            let garbage = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "x", "scopes": ["tokens:read"], "expires_at": "tomorrow"}"#)
            #expect(try garbage.problem().errors?.first?.field == "expires_at")

            let future = Timestamp.format(test.clock.now().addingTimeInterval(3600))
            let key = try await createKey(client, test.adminKey, #"{"name": "x", "scopes": ["tokens:read"], "expires_at": "\#(future)"}"#)
            #expect(key.expiresAt == future)
            #expect(try await client.send(.get, "/v1/tokens", key: key.key).status == .ok)
            test.clock.advance(by: 3600)
            let expired = try await client.send(.get, "/v1/tokens", key: key.key)
            #expect(expired.status == .unauthorized)
            #expect(try expired.problem().code == "key_expired")
        }
    }

    @Test("token_slugs: other tokens are 403 token_not_allowed, lists show only the bound tokens")
    func tokenBinding() async throws {
        try await withTestApp { test, client in
            try await makeTokens(test, client, ["aws-prod", "aws-staging", "github"])
            let key = try await createKey(client, test.adminKey, #"{"name": "ci", "scopes": ["tokens:code", "tokens:read", "tokens:write"], "token_slugs": ["aws-prod", "missing"]}"#)
            let secret = try #require(key.key)
            #expect(key.tokenSlugs == ["aws-prod", "missing"])
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: secret).status == .ok)
            for (method, path, body) in [
                (HTTPRequestMethod.get, "/v1/tokens/github/code", nil as String?), (.get, "/v1/tokens/github", nil),
                (.delete, "/v1/tokens/github", nil), (.patch, "/v1/tokens/github", #"{"name": "x"}"#),
                (.post, "/v1/tokens", #"{"slug": "new-one", "secret": "\#(Self.secret)"}"#),
            ] {
                let response = try await client.send(method, path, key: secret, json: body)
                #expect(response.status == .forbidden, "\(method) \(path)")
                #expect(try response.problem().code == "token_not_allowed")
            }
            let list = try await client.send(.get, "/v1/tokens", key: secret).decode(ListResponse<TokenResponse>.self)
            #expect(list.data.map(\.slug) == ["aws-prod"])
            // A bound slug that does not exist yet is a plain 404, and may be created.
            #expect(try await client.send(.get, "/v1/tokens/missing", key: secret).status == .notFound)
            #expect(try await client.send(.post, "/v1/tokens", key: secret, json: #"{"slug": "missing", "secret": "\#(Self.secret)"}"#).status == .created)
            let bad = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "x", "scopes": ["tokens:read"], "token_slugs": ["ok", "Not A Slug"]}"#)
            #expect(try bad.problem().errors?.first?.field == "token_slugs[1]")
        }
    }

    @Test("single_use: spent by its first success only; failures do not spend it")
    func singleUse() async throws {
        try await withTestApp { test, client in
            try await makeTokens(test, client, ["release"])
            let key = try await createKey(client, test.adminKey, #"{"name": "release", "scopes": ["tokens:code"], "single_use": true}"#)
            let secret = try #require(key.key)
            #expect(key.singleUse)
            // Wrong scope and an unknown token do not spend it.
            #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .forbidden)
            #expect(try await client.send(.get, "/v1/tokens/nope/code", key: secret).status == .notFound)
            #expect(try await client.send(.get, "/v1/tokens/release/code?min_valid=99", key: secret).status == .unprocessableContent)
            #expect(try await client.send(.get, "/v1/tokens/release/code", key: secret).status == .ok)
            let spent = try await client.send(.get, "/v1/tokens/release/code", key: secret)
            #expect(spent.status == .unauthorized)
            #expect(try spent.problem().code == "invalid_key")
            let read = try await client.send(.get, "/v1/keys/\(key.id)", key: test.adminKey).decode(KeyResponse.self)
            #expect(read.spentAt == Timestamp.format(test.clock.now()))
            #expect(read.lastUsedAt == Timestamp.format(test.clock.now()))
        }
    }

    @Test("Of 64 concurrent requests with one single-use key, exactly one succeeds", arguments: [TestingSetupName.router, .live])
    func singleUseRace(setup: TestingSetupName) async throws {
        try await withTestApp(setup.setup) { test, client in
            try await makeTokens(test, client, ["release"])
            let key = try await createKey(client, test.adminKey, #"{"name": "race", "scopes": ["tokens:code"], "single_use": true}"#)
            let secret = try #require(key.key)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<64 { group.addTask { Int(try await client.send(.get, "/v1/tokens/release/code", key: secret).status.code) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1)
            #expect(statuses.allSatisfy { [200, 401, 429].contains($0) })
        }
    }

    @Test("PATCH changes name, networks, expiry and binding; null clears; absent keeps")
    func patch() async throws {
        try await withTestApp { test, client in
            let key = try await createKey(client, test.adminKey, #"{"name": "ci", "scopes": ["tokens:read"], "token_slugs": ["a"], "allowed_cidrs": ["10.0.0.0/8"]}"#)
            let future = Timestamp.format(test.clock.now().addingTimeInterval(86400))
            var response = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"name": "ci-2", "expires_at": "\#(future)", "allowed_cidrs": ["203.0.113.9/24", "2001:db8::/32"]}"#)
            #expect(response.status == .ok)
            var changed = try response.decode(KeyResponse.self)
            #expect(changed.name == "ci-2" && changed.expiresAt == future)
            #expect(changed.allowedCIDRs == ["203.0.113.0/24", "2001:db8::/32"])
            #expect(changed.tokenSlugs == ["a"])
            #expect(changed.key == nil)
            response = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"token_slugs": null, "expires_at": null, "allowed_cidrs": []}"#)
            changed = try response.decode(KeyResponse.self)
            #expect(changed.tokenSlugs == nil && changed.expiresAt == nil && changed.allowedCIDRs.isEmpty && changed.name == "ci-2")
            #expect(try await client.send(.get, "/v1/keys/\(key.id)", key: test.adminKey).decode(KeyResponse.self) == changed)
            let invalid = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"name": null}"#)
            #expect(invalid.status == .unprocessableContent)
            let unknown = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"scopes": ["org:admin"]}"#)
            #expect(try unknown.problem().errors?.first?.field == "scopes")
        }
    }
}

/// Hummingbird testing setups as test arguments.
enum TestingSetupName: String, CustomTestStringConvertible {
    case router, live
    var setup: TestingSetup { self == .router ? .router : .live }
    var testDescription: String { rawValue }
}

import HummingbirdTesting
