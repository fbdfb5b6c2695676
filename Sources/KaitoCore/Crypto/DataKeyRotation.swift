import Foundation

/// Rotation of an organisation's data key (`kaito admin rotate-data-key`), while servers keep serving:
/// 1. one transaction makes a new version current (the earlier ones are kept, retired, and still open what they sealed);
///    from then on every server seals with it, because sealing reads the current version in its own transaction;
/// 2. batches of `batchSize` values, each batch its own transaction, are opened with the version that sealed them and
///    sealed again with the new one (in memory only);
/// 3. a last transaction, holding the current version's row, re-encrypts whatever was sealed with an old version
///    meanwhile and deletes the retired versions. After it, nothing in the database opens with them.
/// On PostgreSQL the current version's row is locked by every transaction that seals (`Keyring.sealingKey`), so
/// step 1 and step 3 wait for those in flight and see what they wrote. On SQLite the single writer serialises them.
public struct DataKeyRotation: Sendable {
    public struct Result: Sendable, Equatable {
        public var organizationID: String
        /// The new current version.
        public var version: Int
        /// How many stored values were sealed again with it.
        public var reencrypted: Int
        /// How many earlier versions were deleted.
        public var retiredVersionsDeleted: Int
    }

    let keyring: Keyring
    let batchSize: Int

    /// A rotation of `keyring`'s data keys that re-encrypts `batchSize` sealed values per transaction.
    public init(keyring: Keyring, batchSize: Int = 100) {
        precondition(batchSize > 0)
        self.keyring = keyring
        self.batchSize = batchSize
    }

    /// Step 1: a new current version. Runs in the caller's transaction (which writes the audit event).
    /// - Throws: `Keyring.Error.wrongMasterKey` when the key is wrapped by another master key than this process's.
    public func advance(organizationID: String, session: any StorageSession, at now: Date) async throws -> Int {
        guard let current = try await session.dataKeys.current(organizationID: organizationID, lock: true) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        guard current.masterKeyID == keyring.master.id else {
            throw Keyring.Error.wrongMasterKey(current: current.masterKeyID, given: keyring.master.id)
        }
        // A rotation cut short leaves retired versions; the next one goes above all of them.
        let highest = try await session.dataKeys.versions(organizationID: organizationID).map(\.version).max() ?? current.version
        let (_, wrapped) = try DataKey.generate(for: organizationID, version: highest + 1, master: keyring.master, random: keyring.random)
        try await session.dataKeys.advance(organizationID: organizationID, to: wrapped, at: now)
        return wrapped.version
    }

    /// Steps 2 and 3 for a version `advance` made current.
    public func reencrypt(organizationID: String, version: Int, storage: any Storage) async throws -> Result {
        // Each batch in its own transaction.
        let reencrypted = try await Self.batches { kind, cursor in
            try await storage.write { session in
                try await reencryptBatch(kind, organizationID: organizationID, after: cursor, limit: batchSize, session: session)
            }
        }
        let (stragglers, deleted) = try await storage.write { session in
            let current = try await session.dataKeys.current(organizationID: organizationID, lock: true)
            guard current?.version == version else {
                throw KaitoError(.conflict, "Another rotation of this organisation's data key made version \(current?.version ?? 0) current; run it again.")
            }
            let changed = try await Self.batches { kind, cursor in
                try await reencryptBatch(kind, organizationID: organizationID, after: cursor, limit: batchSize, session: session)
            }
            return (changed, try await session.dataKeys.deleteRetired(organizationID: organizationID))
        }
        return Result(organizationID: organizationID, version: version, reencrypted: reencrypted + stragglers, retiredVersionsDeleted: deleted)
    }

    /// Runs `batch` over every kind of sealed value, cursor by cursor until it reports no next one; the values changed.
    private static func batches(_ batch: (SealedValue.Kind, String?) async throws -> (changed: Int, next: String?)) async throws -> Int {
        var changed = 0
        for kind in SealedValue.Kind.allCases {
            var cursor: String?
            repeat {
                let (count, next) = try await batch(kind, cursor)
                changed += count
                cursor = next
            } while cursor != nil
        }
        return changed
    }

    /// Seals again, with the current version, the values of one batch that an earlier version sealed.
    /// - Returns: how many it changed, and the cursor of the next batch (nil after the last).
    private func reencryptBatch(
        _ kind: SealedValue.Kind, organizationID: String, after cursor: String?, limit: Int, session: any StorageSession
    ) async throws -> (changed: Int, next: String?) {
        let values = try await session.dataKeys.sealedValues(kind, organizationID: organizationID, after: cursor, limit: limit, lock: true)
        guard !values.isEmpty else { return (0, nil) }
        let sealing = try await keyring.sealingKey(organizationID: organizationID, session: session)
        var changed = 0
        for value in values {
            guard try Envelope.keyVersion(of: value.sealed) != sealing.version else { continue }
            let opener = try await keyring.dataKey(organizationID: organizationID, opening: [value.sealed], session: session)
            let plaintext = try Self.open(value, with: opener)
            var replacement = value
            replacement.sealed = try Self.seal(plaintext, like: value, with: sealing, random: keyring.random)
            try await session.dataKeys.replaceSealedValue(replacement, organizationID: organizationID)
            changed += 1
        }
        return (changed, values.count < limit ? nil : values.last?.recordID)
    }

    /// How each kind of value is bound to its record (the same contexts the services seal with).
    static func open(_ value: SealedValue, with key: DataKey) throws -> [UInt8] {
        switch value.kind {
        case .tokenSeed: return try key.openSeed(value.sealed, tokenID: value.recordID)
        case .webhookSecret, .previousWebhookSecret: return try key.open(value.sealed, kind: "webhook", recordID: value.recordID)
        case .providerSecret: return try key.open(value.sealed, kind: "provider", recordID: SMSService.sealRecordID(key.organizationID, provider: value.recordID))
        case .userTOTPSecret: return try key.open(value.sealed, kind: SignInService.totpKind, recordID: value.recordID)
        case .smsInboundBody: return try key.open(value.sealed, kind: SMSService.inboundSealKind, recordID: value.recordID)
        case .smsOutboundBody: return try key.open(value.sealed, kind: SMSService.outboundSealKind, recordID: value.recordID)
        case .idempotentResponse: return try key.open(value.sealed, kind: IdempotencyService.sealKind, recordID: value.recordID)
        }
    }

    static func seal(_ plaintext: [UInt8], like value: SealedValue, with key: DataKey, random: any RandomSource) throws -> [UInt8] {
        switch value.kind {
        case .tokenSeed: return try key.sealSeed(plaintext, tokenID: value.recordID, random: random)
        case .webhookSecret, .previousWebhookSecret: return try key.seal(plaintext, kind: "webhook", recordID: value.recordID, random: random)
        case .providerSecret: return try key.seal(plaintext, kind: "provider", recordID: SMSService.sealRecordID(key.organizationID, provider: value.recordID), random: random)
        case .userTOTPSecret: return try key.seal(plaintext, kind: SignInService.totpKind, recordID: value.recordID, random: random)
        case .smsInboundBody: return try key.seal(plaintext, kind: SMSService.inboundSealKind, recordID: value.recordID, random: random)
        case .smsOutboundBody: return try key.seal(plaintext, kind: SMSService.outboundSealKind, recordID: value.recordID, random: random)
        case .idempotentResponse: return try key.seal(plaintext, kind: IdempotencyService.sealKind, recordID: value.recordID, random: random)
        }
    }
}

extension OrganizationService {
    /// Rotates the organisation's data key as an operator (`kaito admin rotate-data-key`): a new version, audited as
    /// `org.data_key.rotate`, then every seed and secret re-encrypted in batches and the earlier versions deleted.
    public func rotateDataKey(_ nameOrID: String, batchSize: Int = 100) async throws -> DataKeyRotation.Result {
        let organization = try await find(nameOrID)
        let rotation = DataKeyRotation(keyring: keyring, batchSize: batchSize)
        let version = try await work.write { unit in
            let version = try await rotation.advance(organizationID: organization.id, session: unit.session, at: unit.now)
            try await unit.record(
                AuditRecord(.organizationDataKeyRotate, target: .init(type: "org", id: organization.id), reason: "v\(version)"),
                by: .operator(organization.id))
            return version
        }
        return try await rotation.reencrypt(organizationID: organization.id, version: version, storage: storage)
    }
}
