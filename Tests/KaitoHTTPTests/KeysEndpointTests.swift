import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

@Suite("Keys: /v1/keys")
struct KeysEndpointTests {
    @Test("Create shows the key once; it works at once; reads never show it again")
    func createAndUse() async throws {
        try await withTestApp { test, client in
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci-deploy", "scopes": ["tokens:code", "tokens:read"]}"#)
            #expect(created.status == .created)
            #expect(created.headers[.cacheControl] == "no-store")
            let body = try created.decode(KeyResponse.self)
            let secret = try #require(body.key)
            #expect(APIKeySecret(parsing: secret) != nil)
            #expect(body.id.hasPrefix("key_"))
            #expect(created.headers[.location] == "/v1/keys/\(body.id)")
            #expect(body.scopes == ["tokens:read", "tokens:code"])
            #expect(body.name == "ci-deploy")
            #expect(secret.hasPrefix(body.hint))
            #expect(try created.object()["last_used_at"] is NSNull)

            let adminSelf = try await client.send(.get, "/v1/keys/self", key: test.adminKey).decode(KeyResponse.self)
            #expect(body.createdBy == "key:\(adminSelf.id)")

            // The new key works for its scopes.
            #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .ok)
            let selfView = try await client.send(.get, "/v1/keys/self", key: secret)
            #expect(selfView.status == .ok)
            #expect(try selfView.decode(KeyResponse.self).id == body.id)

            for path in ["/v1/keys/\(body.id)", "/v1/keys", "/v1/keys/self"] {
                let response = try await client.send(.get, path, key: path.hasSuffix("self") ? secret : test.adminKey)
                #expect(response.status == .ok)
                #expect(!response.text.contains(secret))
                #expect(!response.text.contains(String(secret.dropFirst(9))))
                #expect(!response.text.contains("\"key\""))
                #expect(!response.text.contains("hash"))
            }
            let listed = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self)
            #expect(listed.data.map(\.id).contains(body.id))
            #expect(listed.data.count == 2)
        }
    }

    @Test("Revocation takes effect at once and is idempotent")
    func revoke() async throws {
        try await withTestApp { test, client in
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "temp", "scopes": ["tokens:read"]}"#)
            let body = try created.decode(KeyResponse.self)
            let secret = try #require(body.key)
            #expect(try await client.send(.get, "/v1/tokens", key: secret).status == .ok)
            test.clock.advance(by: 10)
            #expect(try await client.send(.delete, "/v1/keys/\(body.id)", key: test.adminKey).status == .noContent)
            let denied = try await client.send(.get, "/v1/tokens", key: secret)
            #expect(denied.status == .unauthorized)
            #expect(try denied.problem().code == "invalid_key")
            let read = try await client.send(.get, "/v1/keys/\(body.id)", key: test.adminKey).decode(KeyResponse.self)
            #expect(read.revokedAt == Timestamp.format(test.clock.now()))
            #expect(try await client.send(.delete, "/v1/keys/\(body.id)", key: test.adminKey).status == .noContent)
            #expect(try await client.send(.delete, "/v1/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV", key: test.adminKey).status == .notFound)
            #expect(try await client.send(.delete, "/v1/keys/not-an-id", key: test.adminKey).status == .notFound)
        }
    }

    @Test("org:admin does not imply tokens:code, tokens:seed or any other scope")
    func adminIsNotEverything() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "s", "secret": "JBSWY3DPEHPK3PXP"}"#)
            for (method, path, scope) in [
                (HTTPMethodName.get, "/v1/tokens/s/code", "tokens:code"), (.get, "/v1/tokens/s/seed", "tokens:seed"),
                (.get, "/v1/tokens", "tokens:read"), (.delete, "/v1/tokens/s", "tokens:write"),
            ] {
                let response = try await client.send(method.method, path, key: test.adminKey)
                #expect(response.status == .forbidden)
                #expect(try response.problem().requiredScope == scope)
            }
        }
    }

    @Test("An expired key gets key_expired")
    func expired() async throws {
        try await withTestApp { test, client in
            let secret = APIKeySecret.generate()
            let key = APIKey(
                id: "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", organizationID: test.organization.id, name: "old", hint: secret.hint,
                hash: test.runtime.keyring.hasher.hash(secret), scopes: [.tokensRead], createdAt: test.clock.now(),
                createdBy: "operator", expiresAt: test.clock.now().addingTimeInterval(60)
            )
            try await test.runtime.storage.write { try await $0.keys.insert(key) }
            #expect(try await client.send(.get, "/v1/tokens", key: secret.value).status == .ok)
            test.clock.advance(by: 60)
            let response = try await client.send(.get, "/v1/tokens", key: secret.value)
            #expect(response.status == .unauthorized)
            #expect(try response.problem().code == "key_expired")
        }
    }

    @Test("Validation of new keys", arguments: [
        (#"{"scopes": ["tokens:code"]}"#, "name"),
        (#"{"name": "  ", "scopes": ["tokens:code"]}"#, "name"),
        (#"{"name": "x"}"#, "scopes"),
        (#"{"name": "x", "scopes": []}"#, "scopes"),
        (#"{"name": "x", "scopes": ["tokens:code", "tokens:everything"]}"#, "scopes[1]"),
        (#"{"name": "x", "scopes": ["tokens:code"], "admin": true}"#, "admin"),
    ])
    func validation(input: (String, String)) async throws {
        try await withTestApp { test, client in
            let response = try await client.send(.post, "/v1/keys", key: test.adminKey, json: input.0)
            #expect(response.status == .unprocessableContent)
            #expect(try response.problem().errors?.map(\.field).contains(input.1) == true)
            let keys = try await client.send(.get, "/v1/keys", key: test.adminKey).decode(ListResponse<KeyResponse>.self)
            #expect(keys.data.count == 1)
        }
    }
}

/// HTTP methods as test arguments.
enum HTTPMethodName {
    case get, post, patch, delete
    var method: HTTPRequestMethod {
        switch self {
        case .get: return .get
        case .post: return .post
        case .patch: return .patch
        case .delete: return .delete
        }
    }
}
