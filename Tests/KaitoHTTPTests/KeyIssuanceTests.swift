import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// What a key may mint or change: never more reach than its own, and owner powers only from an owner.
@Suite("Key issuance: restrictions bound every key minted, and owner powers stay with owners")
struct KeyIssuanceTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    func user(_ client: any TestClientProtocol, _ key: String, _ email: String, role: String) async throws -> UserResponse {
        let response = try await client.send(.post, "/v1/org/users", key: key, json: #"{"email": "\#(email)", "role": "\#(role)"}"#)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(UserResponse.self)
    }

    func key(_ client: any TestClientProtocol, _ admin: String, _ body: String) async throws -> KeyResponse {
        let response = try await client.send(.post, "/v1/keys", key: admin, json: body)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(KeyResponse.self)
    }

    func keyIDs(_ client: any TestClientProtocol, _ admin: String) async throws -> [String] {
        try await client.send(.get, "/v1/keys?limit=200", key: admin).decode(ListResponse<KeyResponse>.self).data.map(\.id)
    }

    @Test("An admin's key cannot mint a key issued to nobody (owner powers) or to an owner; owners and unbound keys can")
    func ownerPowers() async throws {
        try await withTestApp { test, client in
            let owner = try await user(client, test.adminKey, "owner@example.com", role: "owner")
            let admin = try await user(client, test.adminKey, "admin@example.com", role: "admin")
            let otherAdmin = try await user(client, test.adminKey, "admin2@example.com", role: "admin")
            let member = try await user(client, test.adminKey, "member@example.com", role: "member")
            let ownerKey = try #require(try await key(client, test.adminKey, #"{"name": "o", "scopes": ["org:admin"], "user_id": "\#(owner.id)"}"#).key)
            let adminKey = try #require(try await key(client, test.adminKey, #"{"name": "a", "scopes": ["org:admin"], "user_id": "\#(admin.id)"}"#).key)
            let before = try await keyIDs(client, test.adminKey)

            // The escalation: an admin minting owner powers, for nobody or for an owner, is refused and creates nothing.
            for body in [
                #"{"name": "x", "scopes": ["org:admin"]}"#, #"{"name": "x", "scopes": ["tokens:read"]}"#,
                #"{"name": "x", "scopes": ["org:admin"], "user_id": "\#(owner.id)"}"#,
                #"{"name": "x", "scopes": ["tokens:read"], "user_id": "\#(owner.id)"}"#,
            ] {
                let refused = try await client.send(.post, "/v1/keys", key: adminKey, json: body)
                #expect(refused.status == .forbidden, "\(body): \(refused.text)")
                #expect(try refused.problem().code == "insufficient_scope")
            }
            #expect(try await keyIDs(client, test.adminKey) == before)
            // ... and so it cannot reach the owners through a minted key either.
            #expect(try await client.send(.post, "/v1/org/users", key: adminKey, json: #"{"email": "evil@example.com", "role": "owner"}"#).status == .forbidden)

            // What an admin may do: keys for itself, other admins and members.
            for userID in [admin.id, otherAdmin.id, member.id] {
                let scopes = userID == member.id ? #"["tokens:read"]"# : #"["org:admin"]"#
                _ = try await key(client, adminKey, #"{"name": "ok", "scopes": \#(scopes), "user_id": "\#(userID)"}"#)
            }
            // Owners and keys issued to nobody (the bootstrap key) may issue to anyone, or to nobody.
            for minter in [ownerKey, test.adminKey] {
                _ = try await key(client, minter, #"{"name": "unbound", "scopes": ["org:admin"]}"#)
                _ = try await key(client, minter, #"{"name": "for-owner", "scopes": ["org:admin"], "user_id": "\#(owner.id)"}"#)
            }
            // Nor change or revoke a key with owner powers (issued to nobody or to an owner); its own and admins' it may.
            let ownerTarget = try await key(client, ownerKey, #"{"name": "owner-ci", "scopes": ["tokens:read"], "user_id": "\#(owner.id)"}"#)
            let unboundTarget = try await key(client, ownerKey, #"{"name": "unbound-ci", "scopes": ["tokens:read"], "allowed_cidrs": ["10.0.0.0/8"]}"#)
            for target in [ownerTarget, unboundTarget] {
                let patched = try await client.send(.patch, "/v1/keys/\(target.id)", key: adminKey, json: #"{"allowed_cidrs": null, "name": "x"}"#)
                #expect(patched.status == .forbidden, "\(patched.text)")
                #expect(try await client.send(.delete, "/v1/keys/\(target.id)", key: adminKey).status == .forbidden)
                #expect(try await client.send(.get, "/v1/keys/\(target.id)", key: test.adminKey).decode(KeyResponse.self) == target.withoutSecret)
            }
            let adminsOwn = try await key(client, adminKey, #"{"name": "mine", "scopes": ["tokens:read"], "user_id": "\#(admin.id)"}"#)
            #expect(try await client.send(.patch, "/v1/keys/\(adminsOwn.id)", key: adminKey, json: #"{"name": "renamed"}"#).status == .ok)
            #expect(try await client.send(.delete, "/v1/keys/\(adminsOwn.id)", key: adminKey).status == .noContent)
            #expect(try await client.send(.delete, "/v1/keys/\(unboundTarget.id)", key: ownerKey).status == .noContent)

            // The refusals were audited as denials of the admin's key.
            let auditor = try await test.key([.auditRead])
            let denied = try await client.send(.get, "/v1/audit?outcome=denied&action=auth.denied", key: auditor).decode(ListResponse<AuditEventResponse>.self)
            #expect(denied.data.contains { $0.reason == "insufficient_scope" })
        }
    }

    @Test("A restricted key can neither lift its own restrictions nor mint or widen a key beyond them")
    func restrictionsBound() async throws {
        try await withTestApp(.live) { test, client in
            let writer = try await test.key([.tokensWrite])
            for slug in ["inside", "outside"] {
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#).status == .created)
            }
            let expiry = test.clock.now().addingTimeInterval(3600)
            let restricted = try await key(client, test.adminKey, """
                {"name": "restricted", "scopes": ["org:admin"], "allowed_cidrs": ["127.0.0.0/8"], "token_slugs": ["inside"],
                 "expires_at": "\(Timestamp.format(expiry))"}
                """)
            let restrictedKey = try #require(restricted.key)

            // Lifting its own restrictions, one at a time and all together: 422 naming the field, nothing changed.
            for (body, field) in [
                (#"{"allowed_cidrs": null}"#, "allowed_cidrs"), (#"{"allowed_cidrs": []}"#, "allowed_cidrs"),
                (#"{"allowed_cidrs": ["0.0.0.0/0"]}"#, "allowed_cidrs[0]"), (#"{"token_slugs": null}"#, "token_slugs"),
                (#"{"token_slugs": ["inside", "outside"]}"#, "token_slugs[1]"), (#"{"expires_at": null}"#, "expires_at"),
                (#"{"expires_at": "\#(Timestamp.format(expiry.addingTimeInterval(60)))"}"#, "expires_at"),
                (#"{"allowed_cidrs": null, "token_slugs": null, "expires_at": null}"#, "allowed_cidrs"),
            ] {
                let refused = try await client.send(.patch, "/v1/keys/\(restricted.id)", key: restrictedKey, json: body)
                #expect(refused.status == .unprocessableContent, "\(body): \(refused.text)")
                #expect(try refused.problem().errors?.map(\.field).contains(field) == true, "\(body)")
            }
            #expect(try await client.send(.get, "/v1/keys/\(restricted.id)", key: test.adminKey).decode(KeyResponse.self) == restricted.withoutSecret)
            // Narrowing itself is fine.
            let narrowed = try await client.send(.patch, "/v1/keys/\(restricted.id)", key: restrictedKey, json: #"{"allowed_cidrs": ["127.0.0.1/32"]}"#)
            #expect(narrowed.status == .ok, "\(narrowed.text)")

            // Minting beyond it: refused, nothing created.
            let before = try await keyIDs(client, test.adminKey)
            for (body, field) in [
                (#"{"name": "x", "scopes": ["tokens:seed"], "allowed_cidrs": ["10.0.0.0/8"]}"#, "allowed_cidrs[0]"),
                (#"{"name": "x", "scopes": ["tokens:seed"], "allowed_cidrs": ["127.0.0.0/8"]}"#, "allowed_cidrs[0]"),
                (#"{"name": "x", "scopes": ["tokens:seed"], "token_slugs": ["outside"]}"#, "token_slugs[0]"),
                (#"{"name": "x", "scopes": ["tokens:seed"], "expires_at": "\#(Timestamp.format(expiry.addingTimeInterval(1)))"}"#, "expires_at"),
            ] {
                let refused = try await client.send(.post, "/v1/keys", key: restrictedKey, json: body)
                #expect(refused.status == .unprocessableContent, "\(body): \(refused.text)")
                #expect(try refused.problem().errors?.first?.field == field, "\(body)")
            }
            #expect(try await keyIDs(client, test.adminKey) == before)

            // A key minted without restrictions inherits all three, and cannot read the token outside the binding.
            let minted = try await key(client, restrictedKey, #"{"name": "seed-reader", "scopes": ["tokens:seed"]}"#)
            #expect(minted.allowedCIDRs == ["127.0.0.1/32"])
            #expect(minted.tokenSlugs == ["inside"])
            #expect(minted.expiresAt == Timestamp.format(expiry))
            let mintedKey = try #require(minted.key)
            #expect(try await client.send(.get, "/v1/tokens/inside/seed", key: mintedKey).status == .ok)
            let outside = try await client.send(.get, "/v1/tokens/outside/seed", key: mintedKey)
            #expect(outside.status == .forbidden)
            #expect(try outside.problem().code == "token_not_allowed")

            // It cannot lift another key's restrictions beyond its own either, but may set them within.
            let other = try await key(client, test.adminKey, #"{"name": "other", "scopes": ["tokens:read"], "token_slugs": ["inside"]}"#)
            #expect(try await client.send(.patch, "/v1/keys/\(other.id)", key: restrictedKey, json: #"{"token_slugs": null}"#).status == .unprocessableContent)
            #expect(try await client.send(.patch, "/v1/keys/\(other.id)", key: restrictedKey, json: #"{"name": "renamed"}"#).status == .ok)
            // An unrestricted admin key still lifts them.
            #expect(try await client.send(.patch, "/v1/keys/\(restricted.id)", key: test.adminKey, json: #"{"token_slugs": null}"#).status == .ok)
        }
    }
}

extension KeyResponse {
    /// The response as a later read shows it: without the secret.
    var withoutSecret: KeyResponse {
        var copy = self
        copy.key = nil
        return copy
    }
}

extension KeyIssuanceTests {
    @Test("A key bound to tokens grants members only those tokens, and adds members only")
    func boundKeyGrantsAndUsers() async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite])
            for slug in ["inside", "outside"] {
                #expect(try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.secret)"}"#).status == .created)
            }
            let bound = try #require(try await key(client, test.adminKey, #"{"name": "bound", "scopes": ["org:admin"], "token_slugs": ["inside"]}"#).key)
            let member = try await user(client, test.adminKey, "m@example.com", role: "member")
            let wider = try await client.send(.put, "/v1/org/users/\(member.id)/token-grants", key: bound, json: #"{"token_slugs": ["inside", "outside"]}"#)
            #expect(wider.status == .unprocessableContent)
            #expect(try wider.problem().errors?.first?.field == "token_slugs[1]")
            #expect(try await client.send(.put, "/v1/org/users/\(member.id)/token-grants", key: bound, json: #"{"token_slugs": ["inside"]}"#).status == .ok)
            for role in ["admin", "owner"] {
                let refused = try await client.send(.post, "/v1/org/users", key: bound, json: #"{"email": "\#(role)@example.com", "role": "\#(role)"}"#)
                #expect(refused.status == .forbidden, "\(role): \(refused.text)")
            }
            #expect(try await client.send(.post, "/v1/org/users", key: bound, json: #"{"email": "m2@example.com", "role": "member"}"#).status == .created)
            let users = try await client.send(.get, "/v1/org/users", key: test.adminKey).decode(ListResponse<UserResponse>.self).data
            #expect(Set(users.map(\.email)) == ["m@example.com", "m2@example.com"])

            // Issued to nobody but bound to a token: no owner powers, and it acts only on keys bound within its tokens.
            let owner = try await user(client, test.adminKey, "o@example.com", role: "owner")
            let admin = try await user(client, test.adminKey, "a@example.com", role: "admin")
            let ownerKey = try await key(client, test.adminKey, #"{"name": "owner", "scopes": ["tokens:read"], "user_id": "\#(owner.id)"}"#)
            let adminsUnbound = try await key(client, test.adminKey, #"{"name": "admin", "scopes": ["tokens:read"], "user_id": "\#(admin.id)"}"#)
            let adminsBound = try await key(client, test.adminKey, #"{"name": "admin-inside", "scopes": ["tokens:read"], "user_id": "\#(admin.id)", "token_slugs": ["inside"]}"#)
            let bootstrapID = try await client.send(.get, "/v1/keys/self", key: test.adminKey).decode(KeyResponse.self).id
            for target in [bootstrapID, ownerKey.id, adminsUnbound.id] {
                #expect(try await client.send(.patch, "/v1/keys/\(target)", key: bound, json: #"{"name": "x"}"#).status == .forbidden, "\(target)")
                #expect(try await client.send(.delete, "/v1/keys/\(target)", key: bound).status == .forbidden, "\(target)")
            }
            #expect(try await client.send(.patch, "/v1/keys/\(adminsBound.id)", key: bound, json: #"{"name": "renamed"}"#).status == .ok)
            #expect(try await client.send(.post, "/v1/keys", key: bound, json: #"{"name": "x", "scopes": ["tokens:read"], "user_id": "\#(owner.id)"}"#).status == .forbidden)
            // A key it mints for nobody is bound like it, so confers no owner powers: allowed.
            let minted = try await key(client, bound, #"{"name": "x", "scopes": ["tokens:read"]}"#)
            #expect(minted.tokenSlugs == ["inside"])
            #expect(try await client.send(.delete, "/v1/org/users/\(owner.id)", key: bound).status == .forbidden)
            #expect(try await client.send(.delete, "/v1/org/users/\(admin.id)", key: bound).status == .forbidden)
            #expect(try await client.send(.delete, "/v1/org/users/\(member.id)", key: bound).status == .noContent)
            #expect(try await client.send(.get, "/v1/keys/self", key: test.adminKey).status == .ok, "the bootstrap key still works")
        }
    }
}
