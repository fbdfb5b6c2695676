import Foundation

/// Creating, authenticating, listing and revoking API keys.
public struct KeyService: Sendable {
    let storage: any Storage
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource

    public init(storage: any Storage, keyring: Keyring, clock: any KaitoClock, random: any RandomSource) {
        self.storage = storage
        self.keyring = keyring
        self.clock = clock
        self.random = random
    }

    /// Creates a key inside an existing unit of work; returns its record and its secret (shown once).
    /// - Throws: `plan_required` when the draft overrides rate limits and the organisation is not on Enterprise.
    public func create(_ draft: KeyDraft, organizationID: String, createdBy: String, session: any StorageSession) async throws -> (APIKey, APIKeySecret) {
        if !draft.rateLimits.isEmpty {
            let plan = try await session.organizations.find(id: organizationID)?.plan ?? .free
            guard plan == .enterprise else {
                throw KaitoError(.planRequired, "Per-key rate limits need the Enterprise plan.", requiredPlan: .enterprise)
            }
        }
        let secret = APIKeySecret.generate(random: random)
        let now = clock.now()
        let key = APIKey(
            id: Identifier.make(prefix: APIKey.idPrefix, at: now, random: random),
            organizationID: organizationID, name: draft.name, hint: secret.hint, hash: keyring.hasher.hash(secret),
            scopes: draft.scopes, createdAt: now, createdBy: createdBy, expiresAt: draft.expiresAt,
            allowedCIDRs: draft.allowedCIDRs, tokenSlugs: draft.tokenSlugs, singleUse: draft.singleUse,
            rateLimits: draft.rateLimits
        )
        try await session.keys.insert(key)
        return (key, secret)
    }

    /// Creates a key on behalf of `caller`.
    public func create(_ draft: KeyDraft, by caller: Caller) async throws -> (APIKey, APIKeySecret) {
        try await storage.perform(for: caller, at: clock.now(), writes: true) { session in
            try await create(draft, organizationID: caller.organizationID, createdBy: "key:\(caller.key.id)", session: session)
        }
    }

    /// Changes a key's name, networks, expiry or token binding.
    public func update(id: String, _ change: KeyChange, by caller: Caller) async throws -> APIKey {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        let now = clock.now()
        return try await storage.perform(for: caller, at: now, writes: true) { session in
            guard let key = try await session.keys.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The key")
            }
            let changed = try change.apply(to: key, now: now)
            try await session.keys.update(changed)
            return changed
        }
    }

    /// The key behind an `Authorization` header value.
    /// - Throws: `missing_key` without a bearer key; `invalid_key` for an unknown, malformed or revoked key;
    ///   `key_expired` after its `expires_at`.
    public func authenticate(authorization: String?, address: IPAddress? = nil) async throws -> Caller {
        guard let authorization, !authorization.isEmpty else {
            throw KaitoError(.missingKey, "Send an API key as 'Authorization: Bearer kto_live_...'.")
        }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw KaitoError(.missingKey, "The Authorization header must use the Bearer scheme.")
        }
        guard let secret = APIKeySecret(parsing: parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw KaitoError(.invalidKey, "The API key is malformed (wrong prefix, length or checksum).")
        }
        let hash = keyring.hasher.hash(secret)
        let found = try await storage.read { session in try await session.keys.find(hash: hash) }
        guard let key = found, keyring.hasher.matches(secret, stored: key.hash), key.revokedAt == nil else {
            throw KaitoError(.invalidKey, "The API key is not valid.")
        }
        guard key.spentAt == nil else { throw KaitoError(.invalidKey, "The single-use key has already been used.") }
        if let expiresAt = key.expiresAt, expiresAt <= clock.now() {
            throw KaitoError(.keyExpired, "The API key expired at \(Timestamp.format(expiresAt)).")
        }
        return Caller(key: key, address: address)
    }

    public func list(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<APIKey> {
        let rows = try await storage.perform(for: caller, at: clock.now(), writes: false) { session in
            try await session.keys.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    public func get(id: String, by caller: Caller) async throws -> APIKey {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        return try await storage.perform(for: caller, at: clock.now(), writes: false) { session in
            guard let key = try await session.keys.find(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The key")
            }
            return key
        }
    }

    /// Revokes a key of the caller's organisation; it fails with 401 from the next request on.
    public func revoke(id: String, by caller: Caller) async throws {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        let now = clock.now()
        try await storage.perform(for: caller, at: now, writes: true) { session in
            guard try await session.keys.revoke(id: id, organizationID: caller.organizationID, at: now) else {
                throw KaitoError.notFound("The key")
            }
        }
    }
}

extension KeyService {
    /// The caller's own key as stored now (its use recorded), for `GET /v1/keys/self`.
    public func current(_ caller: Caller) async throws -> APIKey {
        try await storage.perform(for: caller, at: clock.now(), writes: false) { session in
            try await session.keys.find(id: caller.key.id, organizationID: caller.organizationID) ?? caller.key
        }
    }
}
