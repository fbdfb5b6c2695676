import Foundation
/// The master key and everything derived from it, with organisations' data keys unwrapped once and cached.
public final class Keyring: Sendable {
    public let master: MasterKey
    public let hasher: APIKeyHasher
    let random: any RandomSource
    private let dataKeys = Locked<[String: DataKey]>([:])

    public init(master: MasterKey, random: any RandomSource = SystemRandomSource()) {
        self.master = master
        self.hasher = APIKeyHasher(master: master)
        self.random = random
    }

    init(master: MasterKey, hasher: APIKeyHasher, random: any RandomSource) {
        self.master = master
        self.hasher = hasher
        self.random = random
    }

    /// The secret under which API keys are hashed, kept wrapped by the master key in `server_secrets`. It starts as
    /// the hashing key derived from the first master key and survives every rotation, so keys stay valid.
    static let apiKeyHashSecret = "api-key-hash"

    /// Failures of a server started with the wrong master key, or of a rotation.
    public enum Error: Swift.Error, CustomStringConvertible, Equatable {
        case wrongMasterKey(current: String, given: String)

        public var description: String {
            switch self {
            case .wrongMasterKey(let current, let given):
                return "this database's keys are wrapped by master key \(current), but this server was started with master key \(given)"
                    + " (if the master key was rotated, start with the new key: KAITO_MASTER_KEY or <data-dir>/master.key)"
            }
        }
    }

    /// The keyring of a server starting on `storage`: checks that `master` is the database's current master key
    /// (recording it on a database that has none yet) and loads the API-key hashing secret it wraps.
    /// - Throws: `Keyring.Error.wrongMasterKey` when the database's keys are wrapped by another master key.
    public static func open(master: MasterKey, storage: any Storage, random: any RandomSource = SystemRandomSource(), now: Date = Date()) async throws -> Keyring {
        // Read first: only a database without the secret (new, or from before rotation existed) takes a write at start.
        var wrapped = try await storage.read { try await $0.dataKeys.secret(named: apiKeyHashSecret, lock: false) }
        if wrapped == nil {
            // The derived key becomes the kept secret; the first server to start wins.
            let bytes = master.keyHashingKey.withUnsafeBytes { Array($0) }
            let sealed = try Envelope.seal(bytes, key: master.wrappingKey, context: secretContext(apiKeyHashSecret), random: random)
            wrapped = try await storage.write { session in
                try await session.dataKeys.insertSecretIfAbsent(named: apiKeyHashSecret, DataKey.Wrapped(masterKeyID: master.id, ciphertext: sealed), at: now)
                return try await session.dataKeys.secret(named: apiKeyHashSecret, lock: false)
            }
        }
        guard let wrapped else { throw KaitoError(.unavailable, "The server secrets could not be stored.") }
        guard wrapped.masterKeyID == master.id else { throw Error.wrongMasterKey(current: wrapped.masterKeyID, given: master.id) }
        let bytes = try Envelope.open(wrapped.ciphertext, key: master.wrappingKey, context: secretContext(apiKeyHashSecret))
        return Keyring(master: master, hasher: APIKeyHasher(key: bytes), random: random)
    }

    /// Re-wraps every organisation's data key and every server secret from `old` to `new`, in one transaction, so
    /// that afterwards only `new` opens anything. Running servers keep serving: they hold unwrapped data keys in
    /// memory, and one that needs a data key it has not loaded yet answers 503 until restarted with `new`.
    /// Nothing is decrypted but the data keys themselves, in this process's memory.
    /// - Returns: the number of data keys re-wrapped.
    /// - Throws: `Keyring.Error.wrongMasterKey` when `old` is not the database's current master key.
    public static func rotateMasterKey(from old: MasterKey, to new: MasterKey, storage: any Storage, random: any RandomSource = SystemRandomSource(), now: Date = Date()) async throws -> Int {
        try await storage.write { session in
            // The secret's row lock serialises rotations and data-key creation against each other (PostgreSQL).
            guard let secret = try await session.dataKeys.secret(named: apiKeyHashSecret, lock: true) else {
                throw KaitoError(.unavailable, "The database has no server secrets yet: start a server on it once before rotating.")
            }
            guard secret.masterKeyID == old.id else { throw Error.wrongMasterKey(current: secret.masterKeyID, given: old.id) }
            guard new.id != old.id else { return 0 }
            let hashing = try Envelope.open(secret.ciphertext, key: old.wrappingKey, context: secretContext(apiKeyHashSecret))
            let rewrapped = try Envelope.seal(hashing, key: new.wrappingKey, context: secretContext(apiKeyHashSecret), random: random)
            try await session.dataKeys.replaceSecret(named: apiKeyHashSecret, with: DataKey.Wrapped(masterKeyID: new.id, ciphertext: rewrapped), at: now)
            let all = try await session.dataKeys.lockAll()
            for (organizationID, wrapped) in all {
                try await session.dataKeys.replace(organizationID: organizationID, with: try DataKey.rewrap(wrapped, for: organizationID, from: old, to: new, random: random))
            }
            return all.count
        }
    }

    static func secretContext(_ name: String) -> String { "kaito/v1/server-secret|\(name)" }

    /// The organisation's data key, holding the versions that sealed `sealed` (read from the database the first
    /// time a version is needed, then kept in memory).
    /// - Throws: `unavailable` when it is missing or wrapped by another master key; `Envelope.Error` when altered.
    public func dataKey(organizationID: String, opening sealed: [[UInt8]], session: any StorageSession) async throws -> DataKey {
        if let cached = dataKeys.withLock({ $0[organizationID] }), sealed.allSatisfy(cached.canOpen) { return cached }
        return try await load(organizationID: organizationID, session: session)
    }

    /// The organisation's data key as it must seal a new value now: with the current version, read in the
    /// caller's transaction (and locked on PostgreSQL, so that a data-key rotation waits for the value to be
    /// written and then re-encrypts it).
    public func sealingKey(organizationID: String, session: any StorageSession) async throws -> DataKey {
        guard let current = try await session.dataKeys.current(organizationID: organizationID, lock: true) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        if let cached = dataKeys.withLock({ $0[organizationID] }), cached.keys[current.version] != nil {
            return cached.sealing(with: current.version)
        }
        return try await load(organizationID: organizationID, session: session).sealing(with: current.version)
    }

    private func load(organizationID: String, session: any StorageSession) async throws -> DataKey {
        guard let loaded = try DataKey.unwrap(try await session.dataKeys.versions(organizationID: organizationID), for: organizationID, master: master) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        // Replaced, not merged: versions a finished rotation deleted leave this server's memory too.
        dataKeys.withLock { $0[organizationID] = loaded }
        return loaded
    }

    /// Creates and stores a new organisation's data key.
    public func createDataKey(organizationID: String, session: any StorageSession) async throws -> DataKey {
        // A server still running with a master key that has since been rotated must not wrap new data keys with it.
        if let current = try await session.dataKeys.secret(named: Self.apiKeyHashSecret, lock: true), current.masterKeyID != master.id {
            throw KaitoError(.unavailable, "The master key was rotated to \(current.masterKeyID); restart this server with the new key.")
        }
        let (key, wrapped) = try DataKey.generate(for: organizationID, master: master, random: random)
        try await session.dataKeys.insert(wrapped, organizationID: organizationID)
        return key
    }
}
