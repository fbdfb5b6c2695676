import Foundation

/// Who asks a service for something: a caller of the API or the dashboard (a key, or a signed-in user's session), or
/// an operator at the server's machine (`kaito admin`), in the organisation they named. The same operation serves
/// both; what differs is who acts (`Acting`) and how their right to ask was established.
public enum Requester: Sendable {
    case caller(Caller)
    case `operator`(organizationID: String)

    public var organizationID: String {
        switch self {
        case .caller(let caller): caller.organizationID
        case .operator(let organizationID): organizationID
        }
    }

    /// Who acts, as the audit log records them.
    public var acting: Acting {
        switch self {
        case .caller(let caller): Acting(caller)
        case .operator(let organizationID): .operator(organizationID)
        }
    }
}

/// The organisation's users (`/v1/org/users`, the dashboard's users pages, `kaito admin *-user`). A key issued to a
/// user acts within that user's role: only an owner's key (or a key issued to nobody: the bootstrap key; or an
/// operator) adds or removes owners.
public struct UserService: Sendable {
    let work: UnitOfWork
    let clock: any KaitoClock
    let random: any RandomSource

    /// Users kept through `work`, their ids drawn from `random` at `clock`'s time.
    public init(work: UnitOfWork, clock: any KaitoClock, random: any RandomSource) {
        self.work = work
        self.clock = clock
        self.random = random
    }

    /// One page of the organisation's users, in id order.
    public func list(by requester: Requester, after cursor: String?, limit: Int) async throws -> Page<OrgUser> {
        let rows = try await work.read(by: requester) { session in
            try await session.users.list(organizationID: requester.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// Adds a user. A key bound to tokens adds members only: an admin or owner sees every token.
    /// - Throws: `validation_failed`; `conflict` for a taken email; `insufficient_scope` for an owner without owner
    ///   powers; `token_not_allowed` for an admin or owner added by a token-bound key.
    public func add(email: String?, name: String?, role: String?, by requester: Requester) async throws -> OrgUser {
        let user = try newUser(email: email, name: name, role: role, organizationID: requester.organizationID)
        let acting = requester.acting
        if acting.boundToTokens, user.role != .member {
            throw KaitoError(.tokenNotAllowed, "A key bound to tokens can add members only: an admin or owner sees every token.")
        }
        return try await work.write(by: requester) { unit in try await insert(user, acting, unit) }
    }

    /// Removes a user and revokes every key issued to them, each with its `key.revoke` event, in one transaction;
    /// returns the ids of the keys it revoked.
    /// - Throws: `not_found`; `conflict` for the last owner; `insufficient_scope` when a non-owner's key removes an owner.
    @discardableResult
    public func remove(id: String, by requester: Requester) async throws -> [String] {
        let acting = requester.acting
        return try await work.write(by: requester) { unit in try await remove(id, acting, unit) }
    }

    // MARK: Token grants

    /// The tokens granted to a member: what the member sees and uses in the dashboard. Owners and admins see every
    /// token and have no grants.
    /// - Throws: `not_found` for an unknown user.
    public func grants(userID: String, by requester: Requester) async throws -> (OrgUser, [String]) {
        try await work.read(by: requester) { session in
            let user = try await Self.findUser(userID, requester.organizationID, session)
            return (user, try await session.users.grants(userID: user.id, organizationID: requester.organizationID))
        }
    }

    /// Replaces a member's token grants (audited `user.grants.update`, the slugs as reason). A key bound to tokens
    /// grants only those: a grant reaches no further than the key that makes it.
    /// - Throws: `not_found` for an unknown user; `conflict` for an owner or admin (they see every token);
    ///   `validation_failed` naming `token_slugs[i]` for a malformed slug or a token the organisation lacks.
    public func setGrants(userID: String, slugs: [String]?, by requester: Requester) async throws -> [String] {
        guard let slugs else { throw KaitoError.validation("token_slugs", "is required (an empty list grants nothing)") }
        let valid = try KeyDraft.validatedSlugs(slugs)
        if case .caller(let caller) = requester, let index = slugs.firstIndex(where: { !caller.allowsToken($0) }) {
            throw KaitoError.validation("token_slugs[\(index)]", "'\(slugs[index])' is not among the calling key's tokens")
        }
        let acting = requester.acting
        return try await work.write(by: requester) { unit in try await replaceGrants(userID, slugs, valid, acting, unit) }
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

    // MARK: The steps every requester takes

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
