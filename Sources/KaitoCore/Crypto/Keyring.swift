import Crypto
import Foundation
import NIOConcurrencyHelpers
/// The master key and everything derived from it, with organisations' data keys unwrapped once and cached.
public final class Keyring: Sendable {
    public let master: MasterKey
    public let hasher: APIKeyHasher
    /// The key of the audit hash chains.
    public let auditChain: AuditChainKey
    let random: any RandomSource
    private let dataKeys = NIOLockedValueBox<[String: DataKey]>([:])

    public init(master: MasterKey, random: any RandomSource = SystemRandomSource()) {
        self.master = master
        self.hasher = APIKeyHasher(master: master)
        self.auditChain = AuditChainKey(bytes: master.auditChainKey.withUnsafeBytes { Array($0) })
        self.random = random
    }

    init(master: MasterKey, hasher: APIKeyHasher, auditChain: AuditChainKey, random: any RandomSource) {
        self.master = master
        self.hasher = hasher
        self.auditChain = auditChain
        self.random = random
    }

    /// The secret under which API keys are hashed, kept wrapped by the master key in `server_secrets`. It starts as
    /// the hashing key derived from the first master key and survives every rotation, so keys stay valid.
    static let apiKeyHashSecret = "api-key-hash"
    /// The key of the audit chains, kept the same way, so that chains stay verifiable across rotations.
    static let auditChainSecret = "audit-chain"
    /// Every server secret, re-wrapped together by a master-key rotation.
    static let serverSecrets = [apiKeyHashSecret, auditChainSecret]

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
    /// (recording it on a database that has none yet) and loads the server secrets it wraps. When this process has
    /// just applied the migration that brought keyed audit chains (`upgradedAuditChains`), the chain key is stored and,
    /// in the same transaction, the chains written before are tagged as they are. At no other time: a chain key that
    /// has gone missing later (deleted by someone who rewrote the log) is stored again, but tags nothing, so the
    /// rewritten chains stay broken for `verify`.
    /// - Throws: `Keyring.Error.wrongMasterKey` when the database's keys are wrapped by another master key.
    public static func open(
        master: MasterKey, storage: any Storage, upgradedAuditChains: Bool = false, random: any RandomSource = SystemRandomSource(), now: Date = Date()
    ) async throws -> Keyring {
        let hashing = try await serverSecret(apiKeyHashSecret, initial: master.keyHashingKey, master: master, storage: storage, random: random, now: now) { _, _ in }
        let chain = try await serverSecret(auditChainSecret, initial: master.auditChainKey, master: master, storage: storage, random: random, now: now) { bytes, session in
            if upgradedAuditChains { try await AuditLog(random: random, chain: AuditChainKey(bytes: bytes)).keyLegacyChains(in: session) }
        }
        return Keyring(master: master, hasher: APIKeyHasher(key: hashing), auditChain: AuditChainKey(bytes: chain), random: random)
    }

    /// The server secret `name`, stored (wrapped) from `initial` with `created` run in the same transaction when the
    /// database has none yet; the first server to start wins.
    private static func serverSecret(
        _ name: String, initial: SymmetricKey, master: MasterKey, storage: any Storage, random: any RandomSource, now: Date,
        created: @escaping @Sendable ([UInt8], any StorageSession) async throws -> Void
    ) async throws -> [UInt8] {
        // Read first: only a database without the secret takes a write at start.
        var wrapped = try await storage.read { try await $0.dataKeys.secret(named: name, lock: false) }
        if wrapped == nil {
            let bytes = initial.withUnsafeBytes { Array($0) }
            let sealed = try Envelope.seal(bytes, key: master.wrappingKey, context: secretContext(name), random: random)
            wrapped = try await storage.write { session in
                if try await session.dataKeys.insertSecretIfAbsent(named: name, DataKey.Wrapped(masterKeyID: master.id, ciphertext: sealed), at: now) {
                    try await created(bytes, session)
                }
                return try await session.dataKeys.secret(named: name, lock: false)
            }
        }
        guard let wrapped else { throw KaitoError(.unavailable, "The server secrets could not be stored.") }
        guard wrapped.masterKeyID == master.id else { throw Error.wrongMasterKey(current: wrapped.masterKeyID, given: master.id) }
        return try Envelope.open(wrapped.ciphertext, key: master.wrappingKey, context: secretContext(name))
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
            for name in serverSecrets {
                guard let stored = try await session.dataKeys.secret(named: name, lock: true) else { continue }
                let plaintext = try Envelope.open(stored.ciphertext, key: old.wrappingKey, context: secretContext(name))
                let rewrapped = try Envelope.seal(plaintext, key: new.wrappingKey, context: secretContext(name), random: random)
                try await session.dataKeys.replaceSecret(named: name, with: DataKey.Wrapped(masterKeyID: new.id, ciphertext: rewrapped), at: now)
            }
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
        if let cached = cachedDataKey(organizationID: organizationID, opening: sealed) { return cached }
        return try await load(organizationID: organizationID, session: session)
    }

    /// The organisation's data key able to open every value of `sealed`, read in a snapshot of its own if this
    /// server has not loaded it yet.
    public func dataKey(organizationID: String, opening sealed: [[UInt8]], storage: any Storage) async throws -> DataKey {
        if let cached = cachedDataKey(organizationID: organizationID, opening: sealed) { return cached }
        return try await storage.read { session in try await self.load(organizationID: organizationID, session: session) }
    }

    /// The data key this server holds for the organisation, if it opens every value of `sealed`.
    private func cachedDataKey(organizationID: String, opening sealed: [[UInt8]]) -> DataKey? {
        guard let cached = dataKeys.withLockedValue({ $0[organizationID] }), sealed.allSatisfy(cached.canOpen) else { return nil }
        return cached
    }

    /// The organisation's data key as it must seal a new value now: with the current version, read in the
    /// caller's transaction (and locked on PostgreSQL, so that a data-key rotation waits for the value to be
    /// written and then re-encrypts it).
    public func sealingKey(organizationID: String, session: any StorageSession) async throws -> DataKey {
        guard let current = try await session.dataKeys.current(organizationID: organizationID, lock: true) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        if let cached = dataKeys.withLockedValue({ $0[organizationID] }), cached.keys[current.version] != nil {
            return cached.sealing(with: current.version)
        }
        return try await load(organizationID: organizationID, session: session).sealing(with: current.version)
    }

    private func load(organizationID: String, session: any StorageSession) async throws -> DataKey {
        guard let loaded = try DataKey.unwrap(try await session.dataKeys.versions(organizationID: organizationID), for: organizationID, master: master) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        // Replaced, not merged: versions a finished rotation deleted leave this server's memory too.
        dataKeys.withLockedValue { $0[organizationID] = loaded }
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
