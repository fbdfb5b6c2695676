/// `POST /v1/keys`.
public struct CreateKeyRequest: Codable, Sendable {
    public var name: String?
    public var scopes: [String]?

    public init(name: String? = nil, scopes: [String]? = nil) {
        self.name = name
        self.scopes = scopes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, scopes
    }
}

/// A key's metadata: never the key, never its hash.
public struct KeyResponse: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var hint: String
    public var scopes: [String]
    public var createdAt: String
    public var createdBy: String
    public var expiresAt: String?
    public var revokedAt: String?
    public var lastUsedAt: String?
    public var lastUsedIP: String?
    public var spentAt: String?
    /// Only in the response that creates the key.
    public var key: String?

    public init(
        id: String, name: String, hint: String, scopes: [String], createdAt: String, createdBy: String,
        expiresAt: String?, revokedAt: String?, key: String? = nil
    ) {
        self.id = id
        self.name = name
        self.hint = hint
        self.scopes = scopes
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.key = key
    }

    enum CodingKeys: String, CodingKey {
        case id, name, hint, scopes, key
        case createdAt = "created_at"
        case createdBy = "created_by"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
        case lastUsedIP = "last_used_ip"
        case spentAt = "spent_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(key, forKey: .key)
        try container.encode(name, forKey: .name)
        try container.encode(hint, forKey: .hint)
        try container.encode(scopes, forKey: .scopes)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(createdBy, forKey: .createdBy)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(revokedAt, forKey: .revokedAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(lastUsedIP, forKey: .lastUsedIP)
        try container.encode(spentAt, forKey: .spentAt)
    }
}
