import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// `/v1/org/users` (docs/api.md#organisation-users-and-billing): roles, the last owner, keys issued to users.
@Suite("The organisation's users (docs/api.md#organisation-users-and-billing)")
struct UsersTests {
    func add(_ client: any TestClientProtocol, _ key: String, _ email: String, _ role: String) async throws -> TestResponse {
        try await client.send(.post, "/v1/org/users", key: key, json: #"{"email": "\#(email)", "name": "Someone", "role": "\#(role)"}"#)
    }

    func issue(_ client: any TestClientProtocol, _ admin: String, to user: String, scopes: String) async throws -> TestResponse {
        try await client.send(.post, "/v1/keys", key: admin, json: #"{"name": "issued", "scopes": [\#(scopes)], "user_id": "\#(user)"}"#)
    }

    @Test("Roles: owners are managed only by owners' keys; members get no org:admin key; the last owner stays")
    func roles() async throws {
        try await withTestApp { test, client in
            let owner = try await add(client, test.adminKey, "Ada@Example.com", "owner").decode(UserResponse.self)
            #expect(owner.email == "ada@example.com" && owner.role == "owner")
            let admin = try await add(client, test.adminKey, "grace@example.com", "admin").decode(UserResponse.self)
            let member = try await add(client, test.adminKey, "linus@example.com", "member").decode(UserResponse.self)
            #expect(try await add(client, test.adminKey, "ada@example.com", "member").status == .conflict)
            let invalid = try await client.send(.post, "/v1/org/users", key: test.adminKey, json: #"{"email": "not-an-email", "role": "king"}"#)
            #expect(Set(try invalid.problem().errors?.map(\.field) ?? []) == ["email", "role"])

            // A member's key may not carry org:admin; an unknown user is refused.
            #expect(try await issue(client, test.adminKey, to: member.id, scopes: #""org:admin""#).status == .unprocessableContent)
            let memberKey = try await issue(client, test.adminKey, to: member.id, scopes: #""tokens:code""#)
            #expect(memberKey.status == .created)
            #expect(try memberKey.decode(KeyResponse.self).userID == member.id)
            #expect(try await issue(client, test.adminKey, to: "usr_01AAAAAAAAAAAAAAAAAAAAAAAA", scopes: #""tokens:code""#).status == .unprocessableContent)

            // An admin's org:admin key manages members and admins, not owners.
            let adminKey = try #require(try await issue(client, test.adminKey, to: admin.id, scopes: #""org:admin""#).decode(KeyResponse.self).key)
            #expect(try await add(client, adminKey, "new-owner@example.com", "owner").status == .forbidden)
            #expect(try await client.send(.delete, "/v1/org/users/\(owner.id)", key: adminKey).status == .forbidden)
            #expect(try await add(client, adminKey, "intern@example.com", "member").status == .created)

            // The last owner cannot be removed; with a second owner, the first can.
            let last = try await client.send(.delete, "/v1/org/users/\(owner.id)", key: test.adminKey)
            #expect(last.status == .conflict)
            #expect(try last.problem().detail.contains("last owner"))
            let ownerKey = try #require(try await issue(client, test.adminKey, to: owner.id, scopes: #""org:admin""#).decode(KeyResponse.self).key)
            let second = try await add(client, ownerKey, "second@example.com", "owner")
            #expect(second.status == .created)
            #expect(try await client.send(.delete, "/v1/org/users/\(owner.id)", key: test.adminKey).status == .noContent)
            // The removed owner's key went with them.
            #expect(try await client.send(.get, "/v1/org/users", key: ownerKey).status == .unauthorized)
            let listed = try await client.send(.get, "/v1/org/users", key: test.adminKey).decode(ListResponse<UserResponse>.self).data
            #expect(Set(listed.map(\.email)) == ["grace@example.com", "linus@example.com", "intern@example.com", "second@example.com"])
        }
    }

    @Test("Removing a user revokes every key issued to them in one transaction, with audit events")
    func removalRevokesKeys() async throws {
        try await withTestApp { test, client in
            _ = try await client.send(.post, "/v1/tokens", key: try await test.key([.tokensWrite]), json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#)
            let user = try await add(client, test.adminKey, "leaver@example.com", "member").decode(UserResponse.self)
            let keys = [
                try await issue(client, test.adminKey, to: user.id, scopes: #""tokens:code""#).decode(KeyResponse.self),
                try await issue(client, test.adminKey, to: user.id, scopes: #""tokens:read""#).decode(KeyResponse.self),
            ]
            let other = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "service", "scopes": ["tokens:code"]}"#).decode(KeyResponse.self)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: try #require(keys[0].key)).status == .ok)

            #expect(try await client.send(.delete, "/v1/org/users/\(user.id)", key: test.adminKey).status == .noContent)
            for key in keys {
                let shown = try await client.send(.get, "/v1/keys/\(key.id)", key: test.adminKey).decode(KeyResponse.self)
                #expect(shown.revokedAt != nil)
            }
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: try #require(keys[0].key)).status == .unauthorized)
            #expect(try await client.send(.get, "/v1/tokens/aws-prod/code", key: try #require(other.key)).status == .ok, "other keys stay")
            let auditor = try await test.key([.auditRead])
            let events = try await client.send(.get, "/v1/audit?action=key.revoke", key: auditor).decode(ListResponse<AuditEventResponse>.self).data
            #expect(Set(events.compactMap { $0.target?.id }) == Set(keys.map(\.id)))
            #expect(events.allSatisfy { $0.reason?.contains(user.id) == true })
            #expect(try await client.send(.get, "/v1/audit?action=user.remove", key: auditor).decode(ListResponse<AuditEventResponse>.self).data.count == 1)
            #expect(try await client.send(.delete, "/v1/org/users/\(user.id)", key: test.adminKey).status == .notFound)
        }
    }

    @Test("Another organisation's users are invisible")
    func otherOrganization() async throws {
        try await withTestApp { test, client in
            let user = try await add(client, test.adminKey, "ada@example.com", "admin").decode(UserResponse.self)
            let (_, otherAdmin) = try await test.otherOrganization()
            #expect(try await client.send(.get, "/v1/org/users", key: otherAdmin).decode(ListResponse<UserResponse>.self).data.isEmpty)
            #expect(try await client.send(.delete, "/v1/org/users/\(user.id)", key: otherAdmin).status == .notFound)
            #expect(try await issue(client, otherAdmin, to: user.id, scopes: #""tokens:code""#).status == .unprocessableContent)
            // The same email may belong to a user of another organisation.
            #expect(try await add(client, otherAdmin, "ada@example.com", "owner").status == .created)
        }
    }
}
