import Foundation

/// Creating, authenticating, listing and revoking API keys.
public struct KeyService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource
    var storage: any Storage { work.storage }

    /// Keys kept through `work` and hashed by `keyring`'s hasher; ids and secrets come from `clock` and `random`.
    public init(work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource) {
        self.work = work
        self.keyring = keyring
        self.clock = clock
        self.random = random
    }

    /// Creates a key inside an existing unit of work; returns its record and its secret (shown once).
    /// - Throws: `plan_required` when the draft overrides rate limits and the organisation is not on Enterprise.
    public func create(
        _ draft: KeyDraft, organizationID: String, createdBy: String, id: String? = nil, session: any StorageSession
    ) async throws -> (APIKey, APIKeySecret) {
        if !draft.rateLimits.isEmpty {
            let plan = try await session.organizations.find(id: organizationID)?.plan ?? .free
            guard plan == .enterprise else {
                throw KaitoError(.planRequired, "Per-key rate limits need the Enterprise plan.", requiredPlan: .enterprise)
            }
        }
        if let userID = draft.userID {
            guard Identifier.isWellFormed(userID, prefix: OrgUser.idPrefix),
                  let user = try await session.users.find(id: userID, organizationID: organizationID) else {
                throw KaitoError.validation("user_id", "is not a user of this organisation")
            }
            if user.role == .member, draft.scopes.contains(.orgAdmin) {
                throw KaitoError.validation("scopes", "a member's key cannot carry org:admin")
            }
        }
        let secret = APIKeySecret.generate(random: random)
        let now = clock.now()
        let key = APIKey(
            id: id ?? newID(),
            organizationID: organizationID, name: draft.name, hint: secret.hint, hash: keyring.hasher.hash(secret),
            scopes: draft.scopes, createdAt: now, createdBy: createdBy, expiresAt: draft.expiresAt,
            allowedCIDRs: draft.allowedCIDRs, tokenSlugs: draft.tokenSlugs, singleUse: draft.singleUse,
            rateLimits: draft.rateLimits, userID: draft.userID
        )
        try await session.keys.insert(key)
        return (key, secret)
    }

    /// A new key id.
    public func newID() -> String { Identifier.make(prefix: APIKey.idPrefix, at: clock.now(), random: random) }

    /// Creates a key on behalf of `caller`, within the caller's own restrictions (`KeyIssuance`).
    /// - Throws: `validation_failed` for a restriction beyond the caller's; `insufficient_scope` for a `user_id`
    ///   the caller's role may not issue to.
    public func create(_ draft: KeyDraft, by caller: Caller) async throws -> (APIKey, APIKeySecret) {
        let id = newID()
        let bounded = try KeyIssuance.bounded(draft, by: caller.key)
        return try await work.run(for: caller, audit: .key(.keyCreate, id)) { session in
            try await KeyIssuance.requireMayIssue(to: bounded.userID, unbound: bounded.tokenSlugs == nil, by: caller, session: session)
            return try await create(bounded, organizationID: caller.organizationID, createdBy: caller.reference, id: id, session: session)
        }
    }

    /// Changes a key's name, networks, expiry or token binding; a restriction it sets stays within the caller's own.
    /// - Throws: `not_found`; `validation_failed` naming a bad field or one beyond the caller's restrictions.
    public func update(id: String, _ change: KeyChange, by caller: Caller) async throws -> APIKey {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        let now = clock.now()
        return try await work.run(for: caller, audit: .key(.keyUpdate, id)) { session in
            guard let key = try await session.keys.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The key")
            }
            try await KeyIssuance.requireMayAct(on: key, by: caller, session: session, action: "change")
            let changed = try change.apply(to: key, now: now)
            try KeyIssuance.requireWithin(caller.key, changed: changed, from: key)
            try await session.keys.update(changed)
            if changed.tokenSlugs != key.tokenSlugs || changed.scopes != key.scopes {
                try await Outbox(random: random).enqueue(
                    .tokenPermissionChanged, data: Self.permissionChange(from: key, to: changed, by: caller, at: now),
                    organizationID: caller.organizationID, at: now, in: session)
            }
            return changed
        }
    }

    /// The `data` of a `token.permission.changed` webhook: which key, what it could reach before and after
    /// (`token_slugs` null means every token of the organisation), and who changed it.
    static func permissionChange(from old: APIKey, to new: APIKey, by caller: Caller, at now: Date) -> String {
        func permissions(_ key: APIKey) -> [String: Any] {
            ["scopes": key.scopes.map(\.rawValue).sorted(), "token_slugs": key.tokenSlugs.map { $0.sorted() as Any } ?? NSNull()]
        }
        return Outbox.json([
            "key": ["id": new.id, "name": new.name], "previous": permissions(old), "current": permissions(new),
            "changed_by": ["type": caller.actor.type, "id": caller.actor.id], "changed_at": Timestamp.format(now),
        ])
    }

    /// The key behind an `Authorization` header value.
    /// - Throws: `missing_key` without a bearer key; `invalid_key` for an unknown, malformed or revoked key;
    ///   `key_expired` after its `expires_at`.
    public func authenticate(authorization: String?, address: IPAddress? = nil, origin: RequestOrigin = RequestOrigin()) async throws -> Caller {
        guard let authorization, !authorization.isEmpty else {
            throw KaitoError(.missingKey, "Send an API key as 'Authorization: Bearer kto_live_...'.")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw KaitoError(.missingKey, "The Authorization header must use the Bearer scheme.")
        }
        let raw = parts[1]
        let text = raw.first?.isWhitespace == true || raw.last?.isWhitespace == true ? raw.trimmingCharacters(in: .whitespaces) : String(raw)
        guard let secret = APIKeySecret(parsing: text) else {
            throw KaitoError(.invalidKey, "The API key is malformed (wrong prefix, length or checksum).")
        }
        let hash = keyring.hasher.hash(secret)
        let found = try await work.key(hash: hash)
        guard let key = found, keyring.hasher.matches(secret, stored: key.hash) else {
            throw KaitoError(.invalidKey, "The API key is not valid.")
        }
        // A known key refused: revoked, spent or expired. The refusal is audited before it is answered.
        var refusal: KaitoError?
        if key.revokedAt != nil {
            refusal = KaitoError(.invalidKey, "The API key is not valid.")
        } else if key.spentAt != nil {
            refusal = KaitoError(.invalidKey, "The single-use key has already been used.")
        } else if let expiresAt = key.expiresAt, expiresAt <= clock.now() {
            refusal = KaitoError(.keyExpired, "The API key expired at \(Timestamp.format(expiresAt)).")
        }
        if let refusal {
            try await work.recordDenial(key: key, address: address, origin: origin, error: refusal, target: nil)
            throw refusal
        }
        return Caller(key: key, address: address, origin: origin)
    }

    /// One page of the caller's organisation's keys, in id (creation) order.
    public func list(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<APIKey> {
        let rows = try await work.run(for: caller) { session in
            try await session.keys.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// The caller's organisation's key `id`.
    /// - Throws: `not_found` for a malformed or unknown id.
    public func get(id: String, by caller: Caller) async throws -> APIKey {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        return try await work.run(for: caller) { session in
            guard let key = try await session.keys.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The key")
            }
            return key
        }
    }

    /// Revokes a key of the caller's organisation; it fails with 401 from the next request on.
    /// - Throws: `not_found`; `insufficient_scope` when the caller's role may not act on the key's user (an owner's
    ///   key, or one issued to nobody, needs an owner's key).
    public func revoke(id: String, by caller: Caller) async throws {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        let now = clock.now()
        try await work.run(for: caller, audit: .key(.keyRevoke, id)) { session in
            guard let key = try await session.keys.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The key")
            }
            // Owner powers stay with owners: an admin cannot revoke (or change) an owner's key or one issued to nobody.
            try await KeyIssuance.requireMayAct(on: key, by: caller, session: session, action: "revoke")
            _ = try await session.keys.revoke(id: id, organizationID: caller.organizationID, at: now)
        }
    }
}

extension KeyService {
    /// Forgets every key this server holds in memory (one it held was found changed by another server).
    public func forgetCachedKeys() {
        storage.changes.publish(CacheTopic.keys)
    }

    /// The caller's own key as stored now (its use recorded), for `GET /v1/keys/self`.
    public func current(_ caller: Caller) async throws -> APIKey {
        try await work.run(for: caller) { session in
            try await session.keys.find(id: caller.key.id, organizationID: caller.organizationID) ?? caller.key
        }
    }
}

extension KeyService {
    /// Audits a refusal of an authenticated caller (403, or a 401 such as losing a single-use race).
    /// - Throws: `unavailable` when the event cannot be written.
    public func recordDenial(_ caller: Caller, error: KaitoError, target: AuditEvent.Target?) async throws {
        try await work.recordDenial(key: caller.key, address: caller.address, origin: caller.origin, error: error, target: target)
    }
}
