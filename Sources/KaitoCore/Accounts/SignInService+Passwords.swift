import Foundation

/// Passwords: an operator's (`kaito admin set-password`), an administrator's for another user, and a user's own
/// change with the current one. Each ends the user's other sessions and is audited `user.password.set`.
extension SignInService {
    // MARK: Operators

    /// Sets a user's password as an operator (`kaito admin set-password`), ending the user's sessions; with
    /// `resetSecondFactor`, the user enrols a new second factor at the next sign-in.
    /// - Throws: `not_found` for an unknown user; `validation_failed` for a password outside 12 to 72 bytes.
    public func setPassword(in organization: Organization, email: String, password: String, resetSecondFactor: Bool = false) async throws -> OrgUser {
        let hash = try await passwordHash(password, field: "password")
        let now = clock.now()
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        return try await work.write { unit in
            guard let user = try await unit.session.users.find(email: email, organizationID: organization.id) else {
                throw KaitoError.notFound("The user \(email)")
            }
            try await storePassword(hash, of: user, resetSecondFactor: resetSecondFactor, keeping: nil, in: unit.session, at: now)
            try await unit.record(
                AuditRecord(.userPasswordSet, target: .init(type: "user", id: user.id), reason: resetSecondFactor ? "second factor reset" : nil),
                by: .operator(organization.id), at: now)
            return user
        }
    }

    // MARK: Users and administrators

    /// An administrator sets another user's password (and may reset their second factor), ending that user's
    /// sessions. The caller's route requires `org:admin`; only an owner (or a key issued to nobody) sets an owner's.
    /// - Throws: `not_found`; `insufficient_scope` for an owner's password set by a non-owner; `conflict` for the
    ///   caller's own password (that takes the current one: `changePassword`); `validation_failed` for its length.
    public func setPassword(userID: String, password: String, resetSecondFactor: Bool, by caller: Caller) async throws -> OrgUser {
        let hash = try await passwordHash(password, field: "password")
        let now = clock.now()
        let acting = Acting(caller)
        return try await work.write(for: caller) { unit in
            let session = unit.session
            let user = try await UserService.findUser(userID, caller.organizationID, session)
            guard user.id != acting.userID else {
                throw KaitoError.conflict("Change your own password on the account page, with the current one.")
            }
            if user.role == .owner { try await UserService.requireOwnerPowers(acting, session, to: "set an owner's password") }
            try await storePassword(hash, of: user, resetSecondFactor: resetSecondFactor, keeping: nil, in: session, at: now)
            try await unit.record(
                AuditRecord(.userPasswordSet, target: .init(type: "user", id: user.id), reason: resetSecondFactor ? "second factor reset" : nil),
                by: acting, at: now)
            return user
        }
    }

    /// When another user's account is locked after failed sign-ins (nil when it is not), for an administrator's page.
    /// - Throws: `not_found`.
    public func lockedUntil(userID: String, by caller: Caller) async throws -> Date? {
        let now = clock.now()
        return try await work.run(for: caller) { session in
            let user = try await UserService.findUser(userID, caller.organizationID, session)
            let credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: false)
            return credentials?.lockedUntil.flatMap { $0 > now ? $0 : nil }
        }
    }

    /// An administrator lifts the lock that failed sign-ins put on another user's account (audited `user.unlock`),
    /// and clears the count of failures. The same rule as setting a password: only an owner unlocks an owner.
    /// - Throws: `not_found`; `insufficient_scope` for an owner unlocked by a non-owner; `conflict` when the account
    ///   is not locked.
    public func unlock(userID: String, by caller: Caller) async throws {
        let now = clock.now()
        let acting = Acting(caller)
        try await work.write(for: caller) { unit in
            let session = unit.session
            let user = try await UserService.findUser(userID, caller.organizationID, session)
            // Not one's own lock: a stolen session must not lift the lock its wrong codes earned.
            guard user.id != acting.userID else { throw KaitoError.conflict("Another owner or admin lifts your lock.") }
            if user.role == .owner { try await UserService.requireOwnerPowers(acting, session, to: "unlock an owner") }
            guard var credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: true),
                  let until = credentials.lockedUntil, until > now else {
                throw KaitoError.conflict("The account is not locked.")
            }
            credentials.lockedUntil = nil
            credentials.failedAttempts = 0
            credentials.updatedAt = now
            try await session.accounts.saveCredentials(credentials)
            try await unit.record(AuditRecord(.userUnlock, target: .init(type: "user", id: user.id)), by: acting, at: now)
        }
    }

    /// A signed-in user changes their own password, giving the current one. Their other sessions end; this one
    /// stays. A wrong current password is audited and counts towards the lock, as at sign-in.
    /// - Throws: `sign_in_failed` for a wrong current password (or a locked account); `validation_failed` for the
    ///   new one's length.
    public func changePassword(current: String, new password: String, session signedIn: DashboardSession, by caller: Caller) async throws {
        guard let user = caller.user else { throw KaitoError(.insufficientScope, "Only a signed-in user changes their password.") }
        let hash = try await passwordHash(password, field: "new_password")
        let now = clock.now()
        let stored = try await storage.read { try await $0.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: false) }
        guard let stored else { throw Self.failure }
        let locked = stored.lockedUntil.map { $0 > now } ?? false
        let matches = try await hasher.verify(current, hash: locked ? hasher.dummyHash : stored.passwordHash)  // one bcrypt either way
        if locked {
            try await recordRefusal(user, action: .userPasswordSet, reason: "locked", address: caller.address?.description, origin: caller.origin, at: now)
            throw Self.failure
        }
        guard matches else {
            try await recordRefusal(
                user, action: .userPasswordSet, reason: "wrong current password", address: caller.address?.description, origin: caller.origin, at: now,
                countAttempt: true)
            throw KaitoError(.signInFailed, "The current password is wrong.")
        }
        try await work.write { unit in
            try await storePassword(hash, of: user, resetSecondFactor: false, keeping: signedIn.id, in: unit.session, at: now)
            try await unit.record(
                AuditRecord(.userPasswordSet, target: .init(type: "user", id: user.id), reason: "changed by the user"),
                by: Acting(organizationID: user.organizationID, actor: caller.actor, ip: caller.address?.description, origin: caller.origin), at: now)
        }
    }

    /// bcrypt at this service's cost, for a password of 12 to 72 bytes.
    private func passwordHash(_ password: String, field: String) async throws -> String {
        guard Self.passwordBytes.contains(password.utf8.count) else {
            throw KaitoError.validation(field, "must be 12 to 72 bytes long (bcrypt reads no more)")
        }
        return try await hasher.hash(password)
    }

    /// Stores a new password hash (unlocking the account) and ends the user's sessions but `keeping`.
    private func storePassword(
        _ hash: String, of user: OrgUser, resetSecondFactor: Bool, keeping: String?, in session: any StorageSession, at now: Date
    ) async throws {
        var credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: true)
            ?? UserCredentials(userID: user.id, organizationID: user.organizationID, passwordHash: hash, updatedAt: now)
        credentials.passwordHash = hash
        credentials.failedAttempts = 0
        credentials.lockedUntil = nil
        credentials.updatedAt = now
        if resetSecondFactor {
            credentials.sealedTOTPSecret = nil
            credentials.totpEnrolledAt = nil
            credentials.lastTOTPCounter = nil
        }
        try await session.accounts.saveCredentials(credentials)
        _ = try await session.accounts.deleteSessions(userID: user.id, organizationID: user.organizationID, except: keeping)
    }
}
