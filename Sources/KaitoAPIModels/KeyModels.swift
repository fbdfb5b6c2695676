/// `POST /v1/keys`.
public struct CreateKeyRequest: Codable, Sendable {
    public var name: String?
    public var scopes: [String]?
    public var allowedCIDRs: [String]?
    public var expiresAt: String?
    public var singleUse: Bool?
    public var tokenSlugs: [String]?
    public var rateLimits: RateLimitsBody?
    public var userID: String?

    public init(
        name: String? = nil, scopes: [String]? = nil, allowedCIDRs: [String]? = nil, expiresAt: String? = nil,
        singleUse: Bool? = nil, tokenSlugs: [String]? = nil, rateLimits: RateLimitsBody? = nil, userID: String? = nil
    ) {
        self.userID = userID
        self.name = name
        self.scopes = scopes
        self.allowedCIDRs = allowedCIDRs
        self.expiresAt = expiresAt
        self.singleUse = singleUse
        self.tokenSlugs = tokenSlugs
        self.rateLimits = rateLimits
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, scopes
        case allowedCIDRs = "allowed_cidrs"
        case expiresAt = "expires_at"
        case singleUse = "single_use"
        case tokenSlugs = "token_slugs"
        case rateLimits = "rate_limits"
        case userID = "user_id"
    }
}

/// Per-minute limits by endpoint group.
public struct RateLimitsBody: Codable, Sendable, Equatable {
    public var code: Int?
    public var read: Int?
    public var write: Int?

    public init(code: Int? = nil, read: Int? = nil, write: Int? = nil) {
        self.code = code
        self.read = read
        self.write = write
    }
}

/// `PATCH /v1/keys/{id}`: an absent field stays as it is; `null` clears it.
public struct UpdateKeyRequest: Codable, Sendable {
    /// A field's presence in the body: absent, or given (possibly as null: clearing it).
    public enum Field<Value: Codable & Sendable>: Sendable {
        case absent
        case given(Value?)
    }

    public var name: Field<String> = .absent
    public var allowedCIDRs: Field<[String]> = .absent
    public var expiresAt: Field<String> = .absent
    public var tokenSlugs: Field<[String]> = .absent

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case allowedCIDRs = "allowed_cidrs"
        case expiresAt = "expires_at"
        case tokenSlugs = "token_slugs"
    }

    /// A change of the fields given (`.given(nil)` clears one; absent ones stay as they are).
    public init(name: Field<String> = .absent, allowedCIDRs: Field<[String]> = .absent, expiresAt: Field<String> = .absent, tokenSlugs: Field<[String]> = .absent) {
        (self.name, self.allowedCIDRs, self.expiresAt, self.tokenSlugs) = (name, allowedCIDRs, expiresAt, tokenSlugs)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        func put<Value: Codable & Sendable>(_ field: Field<Value>, _ key: CodingKeys) throws {
            guard case .given(let value) = field else { return }
            if let value { try container.encode(value, forKey: key) } else { try container.encodeNil(forKey: key) }
        }
        try put(name, .name)
        try put(allowedCIDRs, .allowedCIDRs)
        try put(expiresAt, .expiresAt)
        try put(tokenSlugs, .tokenSlugs)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func field<Value: Codable & Sendable>(_ key: CodingKeys) throws -> Field<Value> {
            guard container.contains(key) else { return .absent }
            return .given(try container.decodeIfPresent(Value.self, forKey: key))
        }
        name = try field(.name)
        allowedCIDRs = try field(.allowedCIDRs)
        expiresAt = try field(.expiresAt)
        tokenSlugs = try field(.tokenSlugs)
    }
}

/// A key's standing in one limit group.
public struct RateLimitStanding: Codable, Sendable, Equatable {
    public var limit: Int
    public var remaining: Int
    /// Seconds until the group is full again.
    public var reset: Int

    public init(limit: Int, remaining: Int, reset: Int) {
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
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
    public var allowedCIDRs: [String]
    public var tokenSlugs: [String]?
    public var singleUse: Bool
    /// The limits in force, per minute, by group.
    public var rateLimits: RateLimitsBody
    /// The user the key was issued to, or null.
    public var userID: String?
    /// Only in `GET /v1/keys/self`: the standing in each limit group.
    public var rateLimitStanding: [String: RateLimitStanding]?
    /// Only in the response that creates the key.
    public var key: String?

    public init(
        id: String, name: String, hint: String, scopes: [String], createdAt: String, createdBy: String,
        expiresAt: String?, revokedAt: String?, lastUsedAt: String? = nil, lastUsedIP: String? = nil, spentAt: String? = nil,
        allowedCIDRs: [String] = [], tokenSlugs: [String]? = nil, singleUse: Bool = false,
        rateLimits: RateLimitsBody = RateLimitsBody(), key: String? = nil
    ) {
        self.lastUsedAt = lastUsedAt
        self.lastUsedIP = lastUsedIP
        self.spentAt = spentAt
        self.allowedCIDRs = allowedCIDRs
        self.tokenSlugs = tokenSlugs
        self.singleUse = singleUse
        self.rateLimits = rateLimits
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
        case allowedCIDRs = "allowed_cidrs"
        case tokenSlugs = "token_slugs"
        case singleUse = "single_use"
        case rateLimits = "rate_limits"
        case rateLimitStanding = "rate_limit_standing"
        case userID = "user_id"
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
        try container.encode(allowedCIDRs, forKey: .allowedCIDRs)
        try container.encode(tokenSlugs, forKey: .tokenSlugs)
        try container.encode(singleUse, forKey: .singleUse)
        try container.encode(rateLimits, forKey: .rateLimits)
        try container.encode(userID, forKey: .userID)
        try container.encodeIfPresent(rateLimitStanding, forKey: .rateLimitStanding)
    }
}
