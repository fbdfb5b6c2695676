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

    /// The organisation's data key.
    /// - Throws: `unavailable` when it is missing or wrapped by another master key; `Envelope.Error` when altered.
    public func dataKey(organizationID: String, session: any StorageSession) async throws -> DataKey {
        if let cached = dataKeys.withLock({ $0[organizationID] }) { return cached }
        guard let wrapped = try await session.dataKeys.find(organizationID: organizationID) else {
            throw KaitoError(.unavailable, "The organisation has no data key.")
        }
        let key = try DataKey.unwrap(wrapped, for: organizationID, master: master)
        dataKeys.withLock { $0[organizationID] = key }
        return key
    }

    /// Creates and stores a new organisation's data key.
    public func createDataKey(organizationID: String, session: any StorageSession) async throws -> DataKey {
        let (key, wrapped) = try DataKey.generate(for: organizationID, master: master, random: random)
        try await session.dataKeys.insert(wrapped, organizationID: organizationID)
        return key
    }
}
