import Foundation

/// The organisation's users (`/v1/org/users`). A key issued to a user acts within that user's role: only an
/// owner's key (or a key issued to nobody: the bootstrap key, an operator's) adds or removes owners.
extension OrganizationService {
    public func users(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<OrgUser> {
        let rows = try await work.run(for: caller) { session in
            try await session.users.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    public func addUser(email: String?, name: String?, role: String?, by caller: Caller) async throws -> OrgUser {
        var errors: [KaitoError.FieldError] = []
        var validEmail = ""
        do { validEmail = try OrgUser.validatedEmail(email) } catch let error as KaitoError { errors += error.fieldErrors }
        let chosen = OrgUser.Role(rawValue: role ?? OrgUser.Role.member.rawValue)
        if chosen == nil { errors.append(.init(field: "role", message: "must be one of: owner, admin, member")) }
        var cleanName: String?
        do { cleanName = try TokenDraft.text(name, field: "name") } catch let error as KaitoError { errors += error.fieldErrors }
        guard errors.isEmpty, let chosen else { throw KaitoError.validation(errors) }
        let now = clock.now()
        let user = OrgUser(
            id: Identifier.make(prefix: OrgUser.idPrefix, at: now, random: random), organizationID: caller.organizationID,
            email: validEmail, name: cleanName, role: chosen, createdAt: now)
        return try await work.run(for: caller, audit: AuditRecord(.userCreate, target: .init(type: "user", id: user.id), reason: chosen.rawValue)) { session in
            if chosen == .owner { try await requireOwnerPowers(caller, session) }
            try await session.users.insert(user)
            return user
        }
    }

    /// Removes a user and revokes every key issued to them, each with its `key.revoke` event, in one transaction.
    /// - Throws: `conflict` for the last owner; `insufficient_scope` when a non-owner's key removes an owner.
    public func removeUser(id: String, by caller: Caller) async throws -> [String] {
        let now = clock.now()
        let audit = AuditLog(random: random)
        return try await work.run(for: caller, audit: AuditRecord(.userRemove, target: .init(type: "user", id: id))) { session in
            guard Identifier.isWellFormed(id, prefix: OrgUser.idPrefix),
                  let user = try await session.users.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The user")
            }
            if user.role == .owner {
                try await requireOwnerPowers(caller, session)
                let owners = try await session.users.lockOwners(organizationID: caller.organizationID)
                guard owners.count > 1 else { throw KaitoError.conflict("The last owner of the organisation cannot be removed.") }
            }
            _ = try await session.users.delete(id: id, organizationID: caller.organizationID)
            let revoked = try await session.keys.revokeIssued(userID: id, organizationID: caller.organizationID, at: now)
            for keyID in revoked {
                try await audit.append(
                    AuditRecord(.keyRevoke, target: .init(type: "key", id: keyID), reason: "issued to removed user \(id)"),
                    actor: caller.actor, organizationID: caller.organizationID, ip: caller.address?.description, origin: caller.origin,
                    at: now, in: session)
            }
            return revoked
        }
    }

    private func requireOwnerPowers(_ caller: Caller, _ session: any StorageSession) async throws {
        guard let userID = caller.key.userID else { return }
        let role = try await session.users.find(id: userID, organizationID: caller.organizationID)?.role
        guard role == .owner else {
            throw KaitoError(.insufficientScope, "Only an owner's key can add or remove owners.", requiredScope: .orgAdmin)
        }
    }
}
