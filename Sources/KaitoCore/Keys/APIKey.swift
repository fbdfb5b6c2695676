import Foundation

/// An API key's stored record: everything about the key except the key itself (only its hash is kept).
public struct APIKey: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    public var name: String
    public var hint: String
    public var hash: [UInt8]
    public var scopes: Set<Scope>
    public var createdAt: Date
    /// What created the key: `key:<id>`, `operator` (the `kaito admin` command) or `bootstrap`.
    public var createdBy: String
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(
        id: String, organizationID: String, name: String, hint: String, hash: [UInt8], scopes: Set<Scope>,
        createdAt: Date, createdBy: String, expiresAt: Date? = nil, revokedAt: Date? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.hint = hint
        self.hash = hash
        self.scopes = scopes
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    public static let idPrefix = "key"
    public static let nameLimit = 200
}
