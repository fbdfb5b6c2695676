import Crypto
import Foundation

/// An organisation's data key: the AES-256-GCM key under which its seeds and secrets are encrypted.
/// Stored only wrapped by the master key, with the organisation bound in as associated data.
public struct DataKey: Sendable {
    let key: SymmetricKey
    public let organizationID: String

    /// The stored form of a data key.
    public struct Wrapped: Sendable, Equatable {
        public var masterKeyID: String
        public var ciphertext: [UInt8]
        public init(masterKeyID: String, ciphertext: [UInt8]) {
            self.masterKeyID = masterKeyID
            self.ciphertext = ciphertext
        }
    }

    /// A new random data key for `organizationID`, and its wrapped form to store.
    public static func generate(
        for organizationID: String,
        master: MasterKey,
        random: any RandomSource = SystemRandomSource()
    ) throws -> (DataKey, Wrapped) {
        let bytes = random.bytes(32)
        let key = DataKey(key: SymmetricKey(data: bytes), organizationID: organizationID)
        let sealed = try Envelope.seal(bytes, key: master.wrappingKey, context: Self.context(organizationID), random: random)
        return (key, Wrapped(masterKeyID: master.id, ciphertext: sealed))
    }

    /// Unwraps a stored data key.
    /// - Throws: `wrong master key` as `unavailable` when the key was wrapped by another master key,
    ///   `Envelope.Error` when the stored bytes were altered or belong to another organisation.
    public static func unwrap(_ wrapped: Wrapped, for organizationID: String, master: MasterKey) throws -> DataKey {
        guard wrapped.masterKeyID == master.id else {
            throw KaitoError(.unavailable, "The organisation's data key is wrapped by master key \(wrapped.masterKeyID), not by this server's \(master.id).")
        }
        let bytes = try Envelope.open(wrapped.ciphertext, key: master.wrappingKey, context: Self.context(organizationID))
        return DataKey(key: SymmetricKey(data: bytes), organizationID: organizationID)
    }

    static func context(_ organizationID: String) -> String { "kaito/v1/data-key|\(organizationID)" }

    /// The same data key wrapped by `new` instead of `old` (master-key rotation); its bytes never leave memory.
    public static func rewrap(_ wrapped: Wrapped, for organizationID: String, from old: MasterKey, to new: MasterKey, random: any RandomSource) throws -> Wrapped {
        guard wrapped.masterKeyID == old.id else {
            throw KaitoError(.unavailable, "The organisation's data key is wrapped by master key \(wrapped.masterKeyID), not by \(old.id).")
        }
        let bytes = try Envelope.open(wrapped.ciphertext, key: old.wrappingKey, context: context(organizationID))
        return Wrapped(masterKeyID: new.id, ciphertext: try Envelope.seal(bytes, key: new.wrappingKey, context: context(organizationID), random: random))
    }

    /// Encrypts a token's seed, bound to this organisation and the token's id.
    public func sealSeed(_ seed: [UInt8], tokenID: String, random: any RandomSource = SystemRandomSource()) throws -> [UInt8] {
        try Envelope.seal(seed, key: key, context: seedContext(tokenID), random: random)
    }

    /// Decrypts a token's seed. Throws `Envelope.Error.authenticationFailed` when the row was altered or copied
    /// to another token or organisation.
    public func openSeed(_ sealed: [UInt8], tokenID: String) throws -> [UInt8] {
        try Envelope.open(sealed, key: key, context: seedContext(tokenID))
    }

    private func seedContext(_ tokenID: String) -> String { "kaito/v1/seed|\(organizationID)|\(tokenID)" }

    /// Encrypts another secret (a webhook signing secret, provider credentials), bound to its kind and record.
    public func seal(_ secret: [UInt8], kind: String, recordID: String, random: any RandomSource = SystemRandomSource()) throws -> [UInt8] {
        try Envelope.seal(secret, key: key, context: "kaito/v1/\(kind)|\(organizationID)|\(recordID)", random: random)
    }

    /// Decrypts what `seal(_:kind:recordID:)` sealed; throws `Envelope.Error` when altered or moved.
    public func open(_ sealed: [UInt8], kind: String, recordID: String) throws -> [UInt8] {
        try Envelope.open(sealed, key: key, context: "kaito/v1/\(kind)|\(organizationID)|\(recordID)")
    }
}
