import Crypto
import Foundation

/// An organisation's data key: the AES-256-GCM key under which its seeds and secrets are encrypted.
/// Stored only wrapped by the master key, with the organisation (and from version 2 the version) bound in as
/// associated data. A key has versions: `kaito admin rotate-data-key` makes a new one, re-encrypts every value
/// sealed by the earlier ones, then deletes them. A value names the version that sealed it (`Envelope`); this holds
/// every version that may still be needed, and seals with `version`.
public struct DataKey: Sendable {
    public let organizationID: String
    /// The version that seals new values: the organisation's current one.
    public let version: Int
    let keys: [Int: SymmetricKey]

    init(organizationID: String, version: Int, keys: [Int: SymmetricKey]) {
        precondition(keys[version] != nil, "a data key holds the version it seals with")
        self.organizationID = organizationID
        self.version = version
        self.keys = keys
    }

    /// The stored form of one version of a data key.
    public struct Wrapped: Sendable, Equatable {
        public var masterKeyID: String
        public var ciphertext: [UInt8]
        public var version: Int
        public init(masterKeyID: String, ciphertext: [UInt8], version: Int = 1) {
            self.masterKeyID = masterKeyID
            self.ciphertext = ciphertext
            self.version = version
        }
    }

    /// A new random data key for `organizationID` (version `version`), and its wrapped form to store.
    public static func generate(
        for organizationID: String,
        version: Int = 1,
        master: MasterKey,
        random: any RandomSource = SystemRandomSource()
    ) throws -> (DataKey, Wrapped) {
        let bytes = random.bytes(32)
        let key = DataKey(organizationID: organizationID, version: version, keys: [version: SymmetricKey(data: bytes)])
        let sealed = try Envelope.seal(bytes, key: master.wrappingKey, context: Self.context(organizationID, version: version), random: random)
        return (key, Wrapped(masterKeyID: master.id, ciphertext: sealed, version: version))
    }

    /// Unwraps one stored version of a data key: a key that seals with that version.
    /// - Throws: `wrong master key` as `unavailable` when the key was wrapped by another master key,
    ///   `Envelope.Error` when the stored bytes were altered or belong to another organisation or version.
    public static func unwrap(_ wrapped: Wrapped, for organizationID: String, master: MasterKey) throws -> DataKey {
        guard wrapped.masterKeyID == master.id else {
            throw KaitoError(.unavailable, "The organisation's data key is wrapped by master key \(wrapped.masterKeyID), not by this server's \(master.id).")
        }
        let bytes = try Envelope.open(wrapped.ciphertext, key: master.wrappingKey, context: Self.context(organizationID, version: wrapped.version))
        return DataKey(organizationID: organizationID, version: wrapped.version, keys: [wrapped.version: SymmetricKey(data: bytes)])
    }

    /// Unwraps every stored version; the key seals with the highest.
    static func unwrap(_ versions: [Wrapped], for organizationID: String, master: MasterKey) throws -> DataKey? {
        guard let current = versions.map(\.version).max() else { return nil }
        var keys: [Int: SymmetricKey] = [:]
        for wrapped in versions {
            keys[wrapped.version] = try unwrap(wrapped, for: organizationID, master: master).keys[wrapped.version]
        }
        return DataKey(organizationID: organizationID, version: current, keys: keys)
    }

    /// Version 1 keeps the context of the releases before versions; later versions bind their number.
    static func context(_ organizationID: String, version: Int = 1) -> String {
        version == 1 ? "kaito/v1/data-key|\(organizationID)" : "kaito/v1/data-key|\(organizationID)|v\(version)"
    }

    /// The same data key wrapped by `new` instead of `old` (master-key rotation); its bytes never leave memory.
    public static func rewrap(_ wrapped: Wrapped, for organizationID: String, from old: MasterKey, to new: MasterKey, random: any RandomSource) throws -> Wrapped {
        guard wrapped.masterKeyID == old.id else {
            throw KaitoError(.unavailable, "The organisation's data key is wrapped by master key \(wrapped.masterKeyID), not by \(old.id).")
        }
        let context = context(organizationID, version: wrapped.version)
        let bytes = try Envelope.open(wrapped.ciphertext, key: old.wrappingKey, context: context)
        return Wrapped(masterKeyID: new.id, ciphertext: try Envelope.seal(bytes, key: new.wrappingKey, context: context, random: random), version: wrapped.version)
    }

    /// The same versions, sealing with `version` (which it must hold).
    func sealing(with version: Int) -> DataKey { DataKey(organizationID: organizationID, version: version, keys: keys) }

    /// Whether this holds the version that sealed `sealed` (true for bytes that are not an envelope: opening them fails whatever the key).
    public func canOpen(_ sealed: [UInt8]) -> Bool {
        (try? Envelope.keyVersion(of: sealed)).map { keys[$0] != nil } ?? true
    }

    private func key(opening sealed: [UInt8]) throws -> SymmetricKey {
        let version = try Envelope.keyVersion(of: sealed)
        guard let key = keys[version] else {
            throw KaitoError(.unavailable, "The value was sealed by version \(version) of the organisation's data key, which is not available.")
        }
        return key
    }

    private var sealingKey: SymmetricKey { keys[version]! }

    /// Encrypts a token's seed, bound to this organisation and the token's id.
    public func sealSeed(_ seed: [UInt8], tokenID: String, random: any RandomSource = SystemRandomSource()) throws -> [UInt8] {
        try Envelope.seal(seed, key: sealingKey, context: seedContext(tokenID), keyVersion: version, random: random)
    }

    /// Decrypts a token's seed. Throws `Envelope.Error.authenticationFailed` when the row was altered or copied
    /// to another token or organisation.
    public func openSeed(_ sealed: [UInt8], tokenID: String) throws -> [UInt8] {
        try Envelope.open(sealed, key: key(opening: sealed), context: seedContext(tokenID))
    }

    private func seedContext(_ tokenID: String) -> String { "kaito/v1/seed|\(organizationID)|\(tokenID)" }

    /// Encrypts another secret (a webhook signing secret, provider credentials), bound to its kind and record.
    public func seal(_ secret: [UInt8], kind: String, recordID: String, random: any RandomSource = SystemRandomSource()) throws -> [UInt8] {
        try Envelope.seal(secret, key: sealingKey, context: "kaito/v1/\(kind)|\(organizationID)|\(recordID)", keyVersion: version, random: random)
    }

    /// Decrypts what `seal(_:kind:recordID:)` sealed; throws `Envelope.Error` when altered or moved.
    public func open(_ sealed: [UInt8], kind: String, recordID: String) throws -> [UInt8] {
        try Envelope.open(sealed, key: key(opening: sealed), context: "kaito/v1/\(kind)|\(organizationID)|\(recordID)")
    }
}
