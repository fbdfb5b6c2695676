/// `POST /v1/webhooks` and `PATCH /v1/webhooks/{id}`.
public struct WebhookRequest: Codable, Sendable {
    public var url: String?
    public var topics: [String]?
    public var auditActions: [String]?
    public var description: String?
    public var enabled: Bool?

    public init(url: String? = nil, topics: [String]? = nil, auditActions: [String]? = nil, description: String? = nil, enabled: Bool? = nil) {
        self.url = url
        self.topics = topics
        self.auditActions = auditActions
        self.description = description
        self.enabled = enabled
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case url, topics, description, enabled
        case auditActions = "audit_actions"
    }
}

/// A webhook endpoint; `secret` only in the responses that create it or rotate its secret.
public struct WebhookResponse: Codable, Sendable, Equatable {
    public var id: String
    public var url: String
    public var topics: [String]
    public var auditActions: [String]
    public var description: String?
    public var enabled: Bool
    public var disabledReason: String?
    public var createdAt: String
    public var updatedAt: String
    public var secret: String?

    public init(
        id: String, url: String, topics: [String], auditActions: [String], description: String?, enabled: Bool,
        disabledReason: String?, createdAt: String, updatedAt: String, secret: String? = nil
    ) {
        self.id = id
        self.url = url
        self.topics = topics
        self.auditActions = auditActions
        self.description = description
        self.enabled = enabled
        self.disabledReason = disabledReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.secret = secret
    }

    enum CodingKeys: String, CodingKey {
        case id, url, topics, description, enabled, secret
        case auditActions = "audit_actions"
        case disabledReason = "disabled_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// One delivery of the delivery log, with its attempts.
public struct WebhookDeliveryResponse: Codable, Sendable, Equatable {
    public struct Attempt: Codable, Sendable, Equatable {
        public var number: Int
        public var at: String
        public var statusCode: Int?
        public var latencyMS: Int
        public var error: String?
        public var nextAttemptAt: String?

        public init(number: Int, at: String, statusCode: Int?, latencyMS: Int, error: String?, nextAttemptAt: String?) {
            self.number = number
            self.at = at
            self.statusCode = statusCode
            self.latencyMS = latencyMS
            self.error = error
            self.nextAttemptAt = nextAttemptAt
        }

        enum CodingKeys: String, CodingKey {
            case number, at, error
            case statusCode = "status_code"
            case latencyMS = "latency_ms"
            case nextAttemptAt = "next_attempt_at"
        }
    }

    /// The `webhook-id` of every attempt.
    public var id: String
    public var type: String
    public var status: String
    public var createdAt: String
    public var nextAttemptAt: String?
    public var attempts: [Attempt]

    public init(id: String, type: String, status: String, createdAt: String, nextAttemptAt: String?, attempts: [Attempt]) {
        self.id = id
        self.type = type
        self.status = status
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.attempts = attempts
    }

    enum CodingKeys: String, CodingKey {
        case id, type, status, attempts
        case createdAt = "created_at"
        case nextAttemptAt = "next_attempt_at"
    }
}
