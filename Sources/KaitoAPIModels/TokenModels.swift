/// `POST /v1/tokens`; also the body of `POST /v1/tokens/{slug}/seed` (only the seed fields).
public struct CreateTokenRequest: Codable, Sendable {
    public var slug: String?
    public var name: String?
    public var issuer: String?
    public var account: String?
    public var secret: String?
    public var otpauthURI: String?
    public var algorithm: String?
    public var digits: Int?
    public var period: Int?
    public var kind: String?

    public init(
        slug: String? = nil, name: String? = nil, issuer: String? = nil, account: String? = nil, secret: String? = nil,
        otpauthURI: String? = nil, algorithm: String? = nil, digits: Int? = nil, period: Int? = nil, kind: String? = nil
    ) {
        self.slug = slug
        self.name = name
        self.issuer = issuer
        self.account = account
        self.secret = secret
        self.otpauthURI = otpauthURI
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
        self.kind = kind
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case slug, name, issuer, account, secret, algorithm, digits, period, kind
        case otpauthURI = "otpauth_uri"
    }
}

/// `PATCH /v1/tokens/{slug}`.
public struct UpdateTokenRequest: Codable, Sendable {
    public var name: String?
    public var issuer: String?
    public var account: String?

    public init(name: String? = nil, issuer: String? = nil, account: String? = nil) {
        self.name = name
        self.issuer = issuer
        self.account = account
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, issuer, account
    }
}

/// A token's metadata: never its seed, never a code.
public struct TokenResponse: Codable, Sendable, Equatable {
    public var slug: String
    public var name: String
    public var issuer: String?
    public var account: String?
    public var kind: String
    public var algorithm: String
    public var digits: Int
    public var period: Int
    public var createdAt: String
    public var updatedAt: String

    public init(
        slug: String, name: String, issuer: String?, account: String?, kind: String, algorithm: String, digits: Int,
        period: Int, createdAt: String, updatedAt: String
    ) {
        self.slug = slug
        self.name = name
        self.issuer = issuer
        self.account = account
        self.kind = kind
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case slug, name, issuer, account, kind, algorithm, digits, period
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(slug, forKey: .slug)
        try container.encode(name, forKey: .name)
        try container.encode(issuer, forKey: .issuer)
        try container.encode(account, forKey: .account)
        try container.encode(kind, forKey: .kind)
        try container.encode(algorithm, forKey: .algorithm)
        try container.encode(digits, forKey: .digits)
        try container.encode(period, forKey: .period)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// `GET /v1/tokens/{slug}/code`.
public struct CodeResponse: Codable, Sendable, Equatable {
    public var code: String
    public var expiresIn: Int
    public var period: Int

    public init(code: String, expiresIn: Int, period: Int) {
        self.code = code
        self.expiresIn = expiresIn
        self.period = period
    }

    enum CodingKeys: String, CodingKey {
        case code, period
        case expiresIn = "expires_in"
    }
}

/// `GET /v1/tokens/{slug}/seed`.
public struct SeedResponse: Codable, Sendable, Equatable {
    public var secret: String
    public var otpauthURI: String

    public init(secret: String, otpauthURI: String) {
        self.secret = secret
        self.otpauthURI = otpauthURI
    }

    enum CodingKeys: String, CodingKey {
        case secret
        case otpauthURI = "otpauth_uri"
    }
}
