import Crypto
import Foundation

/// Dashboard sign-in: an email and password (bcrypt), then a TOTP second factor that every user enrols at the first
/// sign-in; sessions whose tokens the database holds only as SHA-256. Every sign-in, refusal, enrolment and sign-out
/// is audited with the user as actor. A signed-in session acts through `caller(...)`: the same services as the API,
/// with the scopes of the user's role.
public struct SignInService: Sendable {
    /// Wrong passwords or codes in a row before the account locks for `lockDuration`.
    public static let attemptLimit = 5
    public static let lockDuration: TimeInterval = 15 * 60
    /// Password attempts one client address may make per minute (the dashboard's sign-in form).
    public static let attemptsPerAddressPerMinute = 10
    /// Between the password and the second factor.
    public static let pendingLifetime: TimeInterval = 10 * 60
    /// A session ends this long after the second factor, or after `idleTimeout` without a request.
    public static let sessionLifetime: TimeInterval = 12 * 3600
    public static let idleTimeout: TimeInterval = 30 * 60
    /// bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
    public static let passwordBytes = 12...72
    static let totpParameters = TOTPParameters()

    let work: UnitOfWork
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource
    let hasher: any PasswordHasher
    var storage: any Storage { work.storage }

    /// Sign-in through `work`, second factors sealed by `keyring`, passwords checked by `hasher` (bcrypt by default).
    public init(work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource, hasher: any PasswordHasher = Bcrypter()) {
        self.work = work
        self.keyring = keyring
        self.clock = clock
        self.random = random
        self.hasher = hasher
    }

    /// The step a session is at, and the token the browser keeps for it (in a cookie).
    public struct Step: Sendable {
        public var token: String
        public var session: DashboardSession
    }

    static let failure = KaitoError(.signInFailed, "The organisation, email, password or code is wrong, or the account is locked for a while.")
    /// After the password (the user is known by then): what was wrong with the code, in words.
    static let codeFailure = KaitoError(
        .signInFailed, "That code was not accepted. Enter the code your authenticator app shows now (each code works once); five wrong codes lock the account for 15 minutes.")
    static let lockedFailure = KaitoError(
        .signInFailed, "The account is locked for 15 minutes after too many wrong passwords or codes; an owner or admin can lift it on the Users page.")

    static func failure(for reason: String) -> KaitoError {
        reason == "locked" ? lockedFailure : reason.hasPrefix("wrong") || reason == "replayed code" ? codeFailure : failure
    }

    // MARK: Password

    /// Checks the password and starts a pending session (the second factor comes next). A user without a second
    /// factor gets a new TOTP secret to enrol.
    /// - Throws: `sign_in_failed` (one message for an unknown account, a wrong password or a locked account);
    ///   `unavailable` when the hasher has too many checks waiting.
    public func signIn(organization: String, email: String, password: String, address: String?, origin: RequestOrigin) async throws -> Step {
        let now = clock.now()
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        let found: (OrgUser, UserCredentials)? = try await storage.read { session in
            let organization = try await session.organizations.find(name: organization)
            guard let organization, let user = try await session.users.find(email: email, organizationID: organization.id),
                  let credentials = try await session.accounts.credentials(userID: user.id, organizationID: organization.id, lock: false)
            else { return nil }
            return (user, credentials)
        }
        // Exactly one bcrypt on every path (no account, a locked one, a wrong or the right password): the time an
        // answer takes says nothing about which it was.
        let usableHash = found.flatMap { _, stored in (stored.lockedUntil.map { $0 > now } ?? false) ? nil : stored.passwordHash }
        let matches = try await hasher.verify(password, hash: usableHash ?? hasher.dummyHash)
        guard let (user, _) = found else { throw Self.failure }
        guard usableHash != nil else {
            try await recordRefusal(user, reason: "locked", address: address, origin: origin, at: now)
            throw Self.failure
        }
        guard matches else {
            try await recordRefusal(user, reason: "wrong password", address: address, origin: origin, at: now, countAttempt: true)
            throw Self.failure
        }
        let (token, hash) = newToken()
        let pending = DashboardSession(
            id: Identifier.make(prefix: DashboardSession.idPrefix, at: now, random: random), tokenHash: hash, userID: user.id,
            organizationID: user.organizationID, secondFactorAt: nil, csrfToken: newCSRFToken(), createdAt: now,
            expiresAt: now.addingTimeInterval(Self.pendingLifetime), lastSeenAt: now)
        try await storage.write { session in
            guard var credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: true) else {
                throw Self.failure
            }
            if credentials.totpEnrolledAt == nil {
                // A new secret at every sign-in until one is enrolled: a secret shown once and abandoned is not reused.
                let dataKey = try await keyring.sealingKey(organizationID: user.organizationID, session: session)
                credentials.sealedTOTPSecret = try dataKey.seal(random.bytes(20), kind: Self.totpKind, recordID: user.id, random: random)
            }
            credentials.updatedAt = now
            try await session.accounts.saveCredentials(credentials)
            try await session.accounts.insertSession(pending)
            // Ended sessions are refused when presented; each sign-in also deletes them, so the table holds only
            // sessions that may still be used.
            _ = try await session.accounts.deleteEndedSessions(expiredBy: now, idleSince: now.addingTimeInterval(-Self.idleTimeout))
        }
        return Step(token: token, session: pending)
    }

    /// What the enrolment page shows a pending session whose user has no second factor yet: the secret, and the
    /// `otpauth://` URI an authenticator app imports (as a link or QR code); nil once the user has enrolled.
    public func enrolment(for pending: DashboardSession) async throws -> (secret: String, uri: String)? {
        try await storage.read { session in
            guard let user = try await session.users.find(id: pending.userID, organizationID: pending.organizationID),
                  let credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: false),
                  credentials.totpEnrolledAt == nil, let sealed = credentials.sealedTOTPSecret
            else { return nil }
            let dataKey = try await keyring.dataKey(organizationID: user.organizationID, opening: [sealed], session: session)
            let secret = try dataKey.open(sealed, kind: Self.totpKind, recordID: user.id)
            let organization = try await session.organizations.find(id: user.organizationID)
            let uri = OTPAuthURI(issuer: "Kaito " + (organization?.name ?? ""), account: user.email, secret: secret, parameters: Self.totpParameters)
            return (Base32.encode(secret), uri.uriString)
        }
    }

    // MARK: Second factor

    /// Checks a code of the user's second factor for a pending session (enrolling it the first time) and completes
    /// the session under a new token: the pending token stops working.
    /// - Throws: `sign_in_failed` for a wrong, reused or late code, an expired pending session or a locked account.
    public func verifySecondFactor(token: String, code: String, address: String?, origin: RequestOrigin) async throws -> Step {
        let now = clock.now()
        let code = code.filter { !$0.isWhitespace }
        let (next, hash) = newToken()
        let csrf = newCSRFToken()
        enum Outcome: Sendable { case completed(DashboardSession), refused(OrgUser, String), unknown }
        let outcome: Outcome = try await work.write { unit in
            let session = unit.session
            guard var pending = try await session.accounts.session(tokenHash: Self.hash(token)), !pending.isComplete, pending.expiresAt > now,
                  let user = try await session.users.find(id: pending.userID, organizationID: pending.organizationID)
            else { return .unknown }
            let enrolling: Bool
            switch try await checkCode(code, of: user, enrolled: false, at: now, session: session) {
            case .accepted(let wasEnrolling): enrolling = wasEnrolling
            case .refused(let reason): return .refused(user, reason)
            case .noSecondFactor: return .unknown
            }
            pending.tokenHash = hash
            pending.csrfToken = csrf
            pending.secondFactorAt = now
            pending.lastSeenAt = now
            pending.expiresAt = now.addingTimeInterval(Self.sessionLifetime)
            try await session.accounts.updateSession(pending)
            let acting = Acting.user(user, ip: address, origin: origin)
            let target = AuditEvent.Target(type: "user", id: user.id)
            if enrolling { try await unit.record(AuditRecord(.userSecondFactorEnrol, target: target), by: acting, at: now) }
            try await unit.record(AuditRecord(.userSignIn, target: target), by: acting, at: now)
            return .completed(pending)
        }
        switch outcome {
        case .completed(let session):
            return Step(token: next, session: session)
        case .refused(let user, let reason):
            try await recordRefusal(user, reason: reason, address: address, origin: origin, at: now, countAttempt: reason != "locked")
            throw Self.failure(for: reason)
        case .unknown:
            throw Self.failure
        }
    }

    /// Checks a code of a signed-in user's second factor again, before something sensitive (showing a seed): the same
    /// rules as at sign-in (the current step or one either side, each step once, failures count towards the lock).
    /// - Throws: `sign_in_failed` for a wrong or reused code or a locked account (audited as a refused `user.signin`).
    public func confirmSecondFactor(user: OrgUser, code: String, address: String?, origin: RequestOrigin) async throws {
        let now = clock.now()
        let code = code.filter { !$0.isWhitespace }
        let refusal: String? = try await storage.write { session in
            switch try await checkCode(code, of: user, enrolled: true, at: now, session: session) {
            case .accepted: return nil
            case .refused(let reason): return reason == "wrong code" ? "wrong code (confirming)" : reason
            case .noSecondFactor: return "no second factor"
            }
        }
        if let refusal {
            try await recordRefusal(user, reason: refusal, address: address, origin: origin, at: now, countAttempt: refusal.hasPrefix("wrong"))
            throw Self.failure(for: refusal)
        }
    }

    enum CodeCheck { case accepted(enrolling: Bool), refused(String), noSecondFactor }

    /// Checks `code` against the user's second factor in the caller's transaction (credentials locked), the one rule
    /// for sign-in and confirmation: not while locked; the current time step or one either side (clock drift); never
    /// a step at or before the last one accepted. An accepted code is recorded (and enrols a pending secret);
    /// `enrolled` requires an enrolled second factor.
    private func checkCode(_ code: String, of user: OrgUser, enrolled: Bool, at now: Date, session: any StorageSession) async throws -> CodeCheck {
        guard var credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: true),
              let sealed = credentials.sealedTOTPSecret, !enrolled || credentials.totpEnrolledAt != nil
        else { return .noSecondFactor }
        if let until = credentials.lockedUntil, until > now { return .refused("locked") }
        let dataKey = try await keyring.dataKey(organizationID: user.organizationID, opening: [sealed], session: session)
        let secret = try dataKey.open(sealed, kind: Self.totpKind, recordID: user.id)
        let current = Int(TOTP.counter(at: now, period: Self.totpParameters.period))
        let accepted = (current - 1...current + 1).first { counter in
            counter > (credentials.lastTOTPCounter ?? -1)
                && Self.equal(TOTP.code(secret: secret, counter: UInt64(counter), parameters: Self.totpParameters), code)
        }
        guard let accepted else { return .refused("wrong code") }
        let enrolling = credentials.totpEnrolledAt == nil
        credentials.totpEnrolledAt = credentials.totpEnrolledAt ?? now
        credentials.lastTOTPCounter = accepted
        credentials.failedAttempts = 0
        credentials.lockedUntil = nil
        credentials.updatedAt = now
        try await session.accounts.saveCredentials(credentials)
        return .accepted(enrolling: enrolling)
    }

    // MARK: Sessions

    /// The signed-in session behind a cookie, as a caller of the domain services: the user's role gives the scopes.
    /// Refreshes the session's idle timer unless `extendsSession` is false (what a page does on its own, such as
    /// fetching the next codes, must not keep an unattended session alive).
    /// - Throws: `missing_key` when there is no complete, unexpired session (the dashboard then asks to sign in).
    public func caller(
        token: String, address: IPAddress?, origin: RequestOrigin, extendsSession: Bool = true
    ) async throws -> (Caller, DashboardSession) {
        let now = clock.now()
        let found: (DashboardSession, OrgUser, [String]?)? = try await storage.read { session in
            guard let signedIn = try await session.accounts.session(tokenHash: Self.hash(token)), signedIn.isComplete,
                  signedIn.expiresAt > now, now.timeIntervalSince(signedIn.lastSeenAt) < Self.idleTimeout,
                  let user = try await session.users.find(id: signedIn.userID, organizationID: signedIn.organizationID)
            else { return nil }
            // A member sees only the tokens granted to them (none until an admin grants some).
            let grants = user.role == .member ? try await session.users.grants(userID: user.id, organizationID: user.organizationID) : nil
            return (signedIn, user, grants)
        }
        guard let (stored, user, grants) = found else { throw KaitoError(.missingKey, "Sign in to continue.") }
        var signedIn = stored
        if extendsSession, now.timeIntervalSince(signedIn.lastSeenAt) >= 60 {
            signedIn.lastSeenAt = now
            let updated = signedIn
            try await storage.write { try await $0.accounts.updateSession(updated) }
        }
        let key = APIKey(
            id: signedIn.id, organizationID: user.organizationID, name: "dashboard: \(user.email)", hint: "", hash: [],
            scopes: user.role.dashboardScopes, createdAt: signedIn.createdAt, createdBy: "user:\(user.id)", tokenSlugs: grants, userID: user.id)
        return (Caller(key: key, address: address, origin: origin, user: user), signedIn)
    }

    /// The pending session behind a cookie (between the password and the second factor), or nil.
    public func pendingSession(token: String) async throws -> DashboardSession? {
        let now = clock.now()
        let found = try await storage.read { try await $0.accounts.session(tokenHash: Self.hash(token)) }
        guard let found, !found.isComplete, found.expiresAt > now else { return nil }
        return found
    }

    /// Ends the session behind a cookie (audited when it was signed in).
    public func signOut(token: String, address: String?, origin: RequestOrigin) async throws {
        let now = clock.now()
        try await work.write { unit in
            let session = unit.session
            guard let ended = try await session.accounts.session(tokenHash: Self.hash(token)) else { return }
            try await session.accounts.deleteSession(id: ended.id)
            guard ended.isComplete, let user = try await session.users.find(id: ended.userID, organizationID: ended.organizationID) else { return }
            try await unit.record(AuditRecord(.userSignOut, target: .init(type: "user", id: user.id)), by: .user(user, ip: address, origin: origin), at: now)
        }
    }

    // MARK: Helpers

    /// A refused password or code, audited (and counted towards the lock) in its own transaction.
    func recordRefusal(
        _ user: OrgUser, action: AuditAction = .userSignIn, reason: String, address: String?, origin: RequestOrigin, at now: Date, countAttempt: Bool = false
    ) async throws {
        try await work.write { unit in
            let session = unit.session
            if countAttempt, var credentials = try await session.accounts.credentials(userID: user.id, organizationID: user.organizationID, lock: true) {
                credentials.failedAttempts += 1
                if credentials.failedAttempts >= Self.attemptLimit {
                    credentials.failedAttempts = 0
                    credentials.lockedUntil = now.addingTimeInterval(Self.lockDuration)
                }
                credentials.updatedAt = now
                try await session.accounts.saveCredentials(credentials)
            }
            try await unit.record(
                AuditRecord(action, target: .init(type: "user", id: user.id), outcome: .denied, reason: reason),
                by: .user(user, ip: address, origin: origin), at: now)
        }
    }


    /// How the TOTP secret is bound when sealed (`DataKey.seal(kind:recordID:)` with the user's id).
    static let totpKind = "user-totp"

    /// A session token: 43 base62 characters (256 bits).
    private func newToken() -> (String, [UInt8]) {
        let token = random.string(count: 43, ascii: Base62.ascii)
        return (token, Self.hash(token))
    }

    private func newCSRFToken() -> String { Self.randomToken(random) }

    /// A CSRF token: 32 base62 characters (190 bits).
    public static func randomToken(_ random: any RandomSource) -> String { random.string(count: 32, ascii: Base62.ascii) }

    static func hash(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// Constant-time comparison of two short strings (codes, CSRF tokens).
    public static func equal(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension OrgUser.Role {
    /// What a signed-in user of this role may do in the dashboard: owners and admins everything, members read
    /// tokens and their codes and SMS messages.
    public var dashboardScopes: Set<Scope> {
        switch self {
        case .owner, .admin: return Set(Scope.allCases)
        case .member: return [.tokensRead, .tokensCode, .smsRead]
        }
    }
}
