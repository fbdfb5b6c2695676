import Foundation

/// The organisation's users (`/v1/org/users`, `kaito admin *-user`). A key issued to a user acts within that user's
/// role: only an owner's key (or a key issued to nobody: the bootstrap key; or an operator) adds or removes owners.
extension OrganizationService {
    /// One page of the caller's organisation's users, in id order.
    public func users(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<OrgUser> {
        let rows = try await work.run(for: caller) { session in
            try await session.users.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// Adds a user. A key bound to tokens adds members only: an admin or owner sees every token.
    /// - Throws: `validation_failed`; `conflict` for a taken email; `insufficient_scope` for an owner without owner
    ///   powers; `token_not_allowed` for an admin or owner added by a token-bound key.
    public func addUser(email: String?, name: String?, role: String?, by caller: Caller) async throws -> OrgUser {
        let user = try newUser(email: email, name: name, role: role, organizationID: caller.organizationID)
        if caller.key.tokenSlugs != nil, user.role != .member {
            throw KaitoError(.tokenNotAllowed, "A key bound to tokens can add members only: an admin or owner sees every token.")
        }
        return try await work.write(for: caller) { unit in try await insert(user, Acting(caller), unit) }
    }

    /// Removes a user and revokes every key issued to them, each with its `key.revoke` event, in one transaction.
    /// - Throws: `conflict` for the last owner; `insufficient_scope` when a non-owner's key removes an owner.
    @discardableResult
    public func removeUser(id: String, by caller: Caller) async throws -> [String] {
        return try await work.write(for: caller) { unit in try await remove(id, Acting(caller), unit) }
    }

    // MARK: Token grants

    /// The tokens granted to a member: what the member sees and uses in the dashboard. Owners and admins see every
    /// token and have no grants.
    /// - Throws: `not_found` for an unknown user.
    public func grants(userID: String, by caller: Caller) async throws -> (OrgUser, [String]) {
        try await work.run(for: caller) { session in
            let user = try await Self.findUser(userID, caller.organizationID, session)
            return (user, try await session.users.grants(userID: user.id, organizationID: caller.organizationID))
        }
    }

    /// Replaces a member's token grants (audited `user.grants.update`, the slugs as reason).
    /// - Throws: `not_found` for an unknown user; `conflict` for an owner or admin (they see every token);
    ///   `validation_failed` naming `token_slugs[i]` for a malformed slug or a token the organisation lacks.
    public func setGrants(userID: String, slugs: [String]?, by caller: Caller) async throws -> [String] {
        guard let slugs else { throw KaitoError.validation("token_slugs", "is required (an empty list grants nothing)") }
        let valid = try KeyDraft.validatedSlugs(slugs)
        // A key bound to tokens grants only those: a grant reaches no further than the key that makes it.
        if let index = slugs.firstIndex(where: { !caller.allowsToken($0) }) {
            throw KaitoError.validation("token_slugs[\(index)]", "'\(slugs[index])' is not among the calling key's tokens")
        }
        return try await work.write(for: caller) { unit in try await replaceGrants(userID, slugs, valid, Acting(caller), unit) }
    }

    /// `setGrants` as an operator (`kaito admin grant-tokens`).
    public func setGrantsAsOperator(_ nameOrID: String, userID: String, slugs: [String]) async throws -> [String] {
        let organization = try await find(nameOrID)
        let valid = try KeyDraft.validatedSlugs(slugs)
        return try await work.write { unit in try await replaceGrants(userID, slugs, valid, .operator(organization.id), unit) }
    }

    func replaceGrants(_ userID: String, _ slugs: [String], _ valid: [String], _ acting: Acting, _ unit: AuditedUnit) async throws -> [String] {
        let session = unit.session
        let user = try await Self.findUser(userID, acting.organizationID, session)
        guard user.role == .member else {
            throw KaitoError.conflict("Owners and admins see every token; grants apply to members.")
        }
        let existing = Set(try await session.tokens.list(organizationID: acting.organizationID, slugs: valid, after: nil, limit: valid.count + 1).map(\.slug))
        if let missing = slugs.firstIndex(where: { !existing.contains($0) }) {
            throw KaitoError.validation("token_slugs[\(missing)]", "the organisation has no token '\(slugs[missing])'")
        }
        let sorted = valid.sorted()
        try await session.users.setGrants(userID: user.id, organizationID: acting.organizationID, slugs: sorted, at: unit.now)
        let reason = sorted.isEmpty ? "none" : sorted.joined(separator: ",")
        try await unit.record(AuditRecord(.userGrantsUpdate, target: .init(type: "user", id: user.id), reason: String(reason.prefix(1000))), by: acting)
        return sorted
    }

    static func findUser(_ id: String, _ organizationID: String, _ session: any StorageSession) async throws -> OrgUser {
        guard Identifier.isWellFormed(id, prefix: OrgUser.idPrefix),
              let user = try await session.users.find(id: id, organizationID: organizationID) else {
            throw KaitoError.notFound("The user")
        }
        return user
    }

    // MARK: Operators (`kaito admin`)

    /// Every user (up to 10,000) of the organisation `nameOrID`, for `kaito admin users`.
    /// - Throws: `not_found` for an unknown organisation.
    public func usersAsOperator(_ nameOrID: String) async throws -> [OrgUser] {
        let organization = try await find(nameOrID)
        return try await storage.read { session in try await session.users.list(organizationID: organization.id, after: nil, limit: 10_000) }
    }

    /// `addUser` as an operator (`kaito admin add-user`), who may add owners.
    /// - Throws: `not_found` for an unknown organisation; `validation_failed`; `conflict` for a taken email.
    public func addUserAsOperator(_ nameOrID: String, email: String, name: String?, role: String) async throws -> OrgUser {
        let organization = try await find(nameOrID)
        let user = try newUser(email: email, name: name, role: role, organizationID: organization.id)
        return try await work.write { unit in try await insert(user, .operator(organization.id), unit) }
    }

    /// `removeUser` as an operator (`kaito admin remove-user`); returns the ids of the keys it revoked.
    /// - Throws: `not_found` for an unknown organisation or user; `conflict` for the last owner.
    @discardableResult
    public func removeUserAsOperator(_ nameOrID: String, userID: String) async throws -> [String] {
        let organization = try await find(nameOrID)
        return try await work.write { unit in try await remove(userID, .operator(organization.id), unit) }
    }

    /// Renames an organisation as an operator (`kaito admin rename-org`), audited `org.update` with both names.
    /// - Throws: `validation_failed` for a bad name; `not_found`; `conflict` when the name is taken.
    public func renameAsOperator(_ nameOrID: String, to name: String) async throws -> Organization {
        try Organization.validateName(name)
        let organization = try await find(nameOrID)
        return try await work.write { unit in
            try await unit.session.organizations.rename(id: organization.id, name: name)
            try await unit.record(
                AuditRecord(.organizationUpdate, target: .init(type: "org", id: organization.id), reason: "\(organization.name) -> \(name)"),
                by: .operator(organization.id))
            var renamed = organization
            renamed.name = name
            return renamed
        }
    }

    // MARK: The one path both take

    func newUser(email: String?, name: String?, role: String?, organizationID: String) throws -> OrgUser {
        var errors: [KaitoError.FieldError] = []
        var validEmail = ""
        do { validEmail = try OrgUser.validatedEmail(email) } catch let error as KaitoError { errors += error.fieldErrors }
        let chosen = OrgUser.Role(rawValue: role ?? OrgUser.Role.member.rawValue)
        if chosen == nil { errors.append(.init(field: "role", message: "must be one of: owner, admin, member")) }
        var cleanName: String?
        do { cleanName = try TokenDraft.text(name, field: "name") } catch let error as KaitoError { errors += error.fieldErrors }
        guard errors.isEmpty, let chosen else { throw KaitoError.validation(errors) }
        let now = clock.now()
        return OrgUser(
            id: Identifier.make(prefix: OrgUser.idPrefix, at: now, random: random), organizationID: organizationID,
            email: validEmail, name: cleanName, role: chosen, createdAt: now)
    }

    func insert(_ user: OrgUser, _ acting: Acting, _ unit: AuditedUnit) async throws -> OrgUser {
        if user.role == .owner { try await Self.requireOwnerPowers(acting, unit.session) }
        try await unit.session.users.insert(user)
        try await unit.record(AuditRecord(.userCreate, target: .init(type: "user", id: user.id), reason: user.role.rawValue), by: acting, at: user.createdAt)
        return user
    }

    func remove(_ id: String, _ acting: Acting, _ unit: AuditedUnit) async throws -> [String] {
        let (session, now) = (unit.session, unit.now)
        let user = try await Self.findUser(id, acting.organizationID, session)
        if acting.boundToTokens, user.role != .member {
            throw KaitoError(.tokenNotAllowed, "A key bound to tokens can remove members only: an admin or owner sees every token.")
        }
        if user.role == .owner {
            try await Self.requireOwnerPowers(acting, session)
            let owners = try await session.users.lockOwners(organizationID: acting.organizationID)
            guard owners.count > 1 else { throw KaitoError.conflict("The last owner of the organisation cannot be removed.") }
        }
        _ = try await session.users.delete(id: id, organizationID: acting.organizationID)
        // Signed out everywhere, and unable to sign in again.
        _ = try await session.accounts.deleteSessions(userID: id, organizationID: acting.organizationID, except: nil)
        try await session.accounts.deleteCredentials(userID: id, organizationID: acting.organizationID)
        try await session.users.deleteGrants(userID: id, organizationID: acting.organizationID)
        try await unit.record(AuditRecord(.userRemove, target: .init(type: "user", id: id)), by: acting)
        let revoked = try await session.keys.revokeIssued(userID: id, organizationID: acting.organizationID, at: now)
        for keyID in revoked {
            try await unit.record(AuditRecord(.keyRevoke, target: .init(type: "key", id: keyID), reason: "issued to removed user \(id)"), by: acting)
        }
        return revoked
    }

    /// Only an owner (or a key issued to nobody, or an operator) may `action` (what owners alone may do to owners).
    static func requireOwnerPowers(_ acting: Acting, _ session: any StorageSession, to action: String = "add or remove owners") async throws {
        guard !acting.boundToTokens else {
            throw KaitoError(.insufficientScope, "A key bound to tokens cannot \(action).", requiredScope: .orgAdmin)
        }
        guard let userID = acting.userID else { return }
        let role = try await session.users.find(id: userID, organizationID: acting.organizationID)?.role
        guard role == .owner else {
            throw KaitoError(.insufficientScope, "Only an owner's key can \(action).", requiredScope: .orgAdmin)
        }
    }
}
