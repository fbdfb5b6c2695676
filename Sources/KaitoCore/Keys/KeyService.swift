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

    /// What a new key is made of, checked.
    public struct Draft: Sendable {
        public var name: String
        public var scopes: Set<Scope>
        public init(name: String, scopes: Set<Scope>) {
            self.name = name
            self.scopes = scopes
        }

        /// - Throws: `validation_failed` naming every bad field.
        public static func validated(name: String?, scopes: [String]?) throws -> Draft {
            var errors: [KaitoError.FieldError] = []
            let trimmed = name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if trimmed.isEmpty {
                errors.append(.init(field: "name", message: "is required"))
            } else if trimmed.count > APIKey.nameLimit {
                errors.append(.init(field: "name", message: "must be at most \(APIKey.nameLimit) characters"))
            }
            var parsed = Set<Scope>()
            do {
                parsed = try Scope.parseList(scopes ?? [])
            } catch let error as KaitoError {
                errors.append(contentsOf: error.fieldErrors)
            }
            if !errors.isEmpty { throw KaitoError.validation(errors) }
            return Draft(name: trimmed, scopes: parsed)
        }
    }

    /// Creates a key inside an existing unit of work; returns its record and its secret (shown once).
    public func create(_ draft: Draft, organizationID: String, createdBy: String, session: any StorageSession) async throws -> (APIKey, APIKeySecret) {
        let secret = APIKeySecret.generate(random: random)
        let now = clock.now()
        let key = APIKey(
            id: Identifier.make(prefix: APIKey.idPrefix, at: now, random: random),
            organizationID: organizationID,
            name: draft.name,
            hint: secret.hint,
            hash: keyring.hasher.hash(secret),
            scopes: draft.scopes,
            createdAt: now,
            createdBy: createdBy
        )
        try await session.keys.insert(key)
        return (key, secret)
    }

    /// Creates a key on behalf of `caller`.
    public func create(_ draft: Draft, by caller: Caller) async throws -> (APIKey, APIKeySecret) {
        try await storage.write { session in
            try await create(draft, organizationID: caller.organizationID, createdBy: "key:\(caller.key.id)", session: session)
        }
    }

    /// The key behind an `Authorization` header value.
    /// - Throws: `missing_key` without a bearer key; `invalid_key` for an unknown, malformed or revoked key;
    ///   `key_expired` after its `expires_at`.
    public func authenticate(authorization: String?) async throws -> Caller {
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
        if let expiresAt = key.expiresAt, expiresAt <= clock.now() {
            throw KaitoError(.keyExpired, "The API key expired at \(Timestamp.format(expiresAt)).")
        }
        return Caller(key: key)
    }

    public func list(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<APIKey> {
        let rows = try await storage.read { session in
            try await session.keys.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    public func get(id: String, by caller: Caller) async throws -> APIKey {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix),
              let key = try await storage.read({ session in try await session.keys.find(id: id, organizationID: caller.organizationID) })
        else { throw KaitoError.notFound("The key") }
        return key
    }

    /// Revokes a key of the caller's organisation; it fails with 401 from the next request on.
    public func revoke(id: String, by caller: Caller) async throws {
        guard Identifier.isWellFormed(id, prefix: APIKey.idPrefix) else { throw KaitoError.notFound("The key") }
        let now = clock.now()
        let found = try await storage.write { session in
            try await session.keys.revoke(id: id, organizationID: caller.organizationID, at: now)
        }
        guard found else { throw KaitoError.notFound("The key") }
    }
}
