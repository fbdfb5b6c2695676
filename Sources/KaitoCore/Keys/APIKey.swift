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
    /// Networks the key may be used from; empty means anywhere.
    public var allowedCIDRs: [CIDR]
    /// Tokens the key is bound to; nil means every token of the organisation.
    public var tokenSlugs: [String]?
    /// Spent by its first successful request.
    public var singleUse: Bool
    public var spentAt: Date?
    public var lastUsedAt: Date?
    public var lastUsedIP: String?
    /// Per-minute limits instead of the defaults (plan Enterprise).
    public var rateLimits: RateLimitOverrides
    /// The user the key was issued to, if any: removing the user revokes it.
    public var userID: String?

    public init(
        id: String, organizationID: String, name: String, hint: String, hash: [UInt8], scopes: Set<Scope>,
        createdAt: Date, createdBy: String, expiresAt: Date? = nil, revokedAt: Date? = nil,
        allowedCIDRs: [CIDR] = [], tokenSlugs: [String]? = nil, singleUse: Bool = false, spentAt: Date? = nil,
        lastUsedAt: Date? = nil, lastUsedIP: String? = nil, rateLimits: RateLimitOverrides = RateLimitOverrides(), userID: String? = nil
    ) {
        self.userID = userID
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
        self.allowedCIDRs = allowedCIDRs
        self.tokenSlugs = tokenSlugs
        self.singleUse = singleUse
        self.spentAt = spentAt
        self.lastUsedAt = lastUsedAt
        self.lastUsedIP = lastUsedIP
        self.rateLimits = rateLimits
    }

    public static let idPrefix = "key"
    public static let nameLimit = 200
    /// Whether `other` grants what this key grants: the same key, not revoked or spent differently, with the same
    /// scopes, networks, expiry, token binding, limits and user (its name and last use may differ).
    public func authorizesAlike(_ other: APIKey) -> Bool {
        id == other.id && organizationID == other.organizationID && hash == other.hash && scopes == other.scopes
            && expiresAt == other.expiresAt && revokedAt == other.revokedAt && allowedCIDRs == other.allowedCIDRs
            && tokenSlugs == other.tokenSlugs && singleUse == other.singleUse && spentAt == other.spentAt
            && rateLimits == other.rateLimits && userID == other.userID
    }

    /// `last_used_at` is refreshed at most this often (seconds), so that ordinary use does not write on every request.
    public static let lastUsedResolution: TimeInterval = 60
}
