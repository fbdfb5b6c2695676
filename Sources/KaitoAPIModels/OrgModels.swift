/// `PATCH /v1/org`.
public struct OrganizationRequest: Codable, Sendable {
    public var name: String?
    public init(name: String? = nil) { self.name = name }
    public enum CodingKeys: String, CodingKey, CaseIterable { case name }
}

public struct OrganizationResponse: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var plan: String
    public var createdAt: String

    public init(id: String, name: String, plan: String, createdAt: String) {
        self.id = id
        self.name = name
        self.plan = plan
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, plan
        case createdAt = "created_at"
    }
}

/// `PUT /v1/org/billing/subscription`.
public struct SubscriptionRequest: Codable, Sendable {
    public var plan: String?
    public init(plan: String? = nil) { self.plan = plan }
    public enum CodingKeys: String, CodingKey, CaseIterable { case plan }
}

/// `GET /v1/org/billing`: `status` is `active`, `canceled`, or `none` for an organisation that never had a paid plan.
public struct BillingResponse: Codable, Sendable, Equatable {
    public var plan: String
    public var status: String
    public var currentPeriodEnd: String?

    public init(plan: String, status: String, currentPeriodEnd: String?) {
        self.plan = plan
        self.status = status
        self.currentPeriodEnd = currentPeriodEnd
    }

    enum CodingKeys: String, CodingKey {
        case plan, status
        case currentPeriodEnd = "current_period_end"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(plan, forKey: .plan)
        try container.encode(status, forKey: .status)
        try container.encode(currentPeriodEnd, forKey: .currentPeriodEnd)
    }
}

/// `POST /v1/org/users`.
public struct UserRequest: Codable, Sendable {
    public var email: String?
    public var name: String?
    public var role: String?

    public init(email: String? = nil, name: String? = nil, role: String? = nil) {
        self.email = email
        self.name = name
        self.role = role
    }

    public enum CodingKeys: String, CodingKey, CaseIterable { case email, name, role }
}

public struct UserResponse: Codable, Sendable, Equatable {
    public var id: String
    public var email: String
    public var name: String?
    public var role: String
    public var createdAt: String

    public init(id: String, email: String, name: String?, role: String, createdAt: String) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, email, name, role
        case createdAt = "created_at"
    }
}

/// `PUT /v1/org/users/{id}/token-grants`: the tokens a member sees and uses in the dashboard (replaces the list).
public struct TokenGrantsRequest: Codable, Sendable {
    public var tokenSlugs: [String]?

    public init(tokenSlugs: [String]? = nil) {
        self.tokenSlugs = tokenSlugs
    }

    enum CodingKeys: String, CodingKey {
        case tokenSlugs = "token_slugs"
    }
}

public struct TokenGrantsResponse: Codable, Sendable, Equatable {
    public var userID: String
    public var tokenSlugs: [String]

    public init(userID: String, tokenSlugs: [String]) {
        self.userID = userID
        self.tokenSlugs = tokenSlugs
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case tokenSlugs = "token_slugs"
    }
}
