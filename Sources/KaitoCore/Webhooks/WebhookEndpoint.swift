import Foundation

/// The topics a webhook endpoint can subscribe to (docs/api.md#webhooks).
public enum WebhookTopic: String, Sendable, Codable, CaseIterable {
    case smsInbound = "sms.inbound"
    case smsDeliveryStatus = "sms.delivery_status"
    case auditEvent = "audit.event"
    case billingSubscriptionCreated = "billing.subscription.created"
    case billingSubscriptionUpdated = "billing.subscription.updated"
    case billingSubscriptionCanceled = "billing.subscription.canceled"
    case tokenPermissionChanged = "token.permission.changed"
}

/// A receiver of signed webhook deliveries. Its secrets are stored sealed under the organisation's data key.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    public var url: String
    public var description: String?
    public var topics: [WebhookTopic]
    /// For `audit.event`: the actions delivered, exact or `prefix.*`; empty means every action.
    public var auditActions: [String]
    public var sealedSecret: [UInt8]
    /// The secret before the last rotation, which keeps signing beside the new one until `previousSecretExpiresAt`.
    public var previousSealedSecret: [UInt8]?
    public var previousSecretExpiresAt: Date?
    public var disabledAt: Date?
    public var disabledReason: String?
    public var failingSince: Date?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, organizationID: String, url: String, description: String?, topics: [WebhookTopic], auditActions: [String],
        sealedSecret: [UInt8], previousSealedSecret: [UInt8]? = nil, previousSecretExpiresAt: Date? = nil,
        disabledAt: Date? = nil, disabledReason: String? = nil, failingSince: Date? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.organizationID = organizationID
        self.url = url
        self.description = description
        self.topics = topics
        self.auditActions = auditActions
        self.sealedSecret = sealedSecret
        self.previousSealedSecret = previousSealedSecret
        self.previousSecretExpiresAt = previousSecretExpiresAt
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
        self.failingSince = failingSince
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let idPrefix = "whk"

    /// Whether an audit event with `action` goes to this endpoint.
    public func wants(auditAction action: String) -> Bool {
        guard topics.contains(.auditEvent) else { return false }
        guard !auditActions.isEmpty else { return true }
        return auditActions.contains { filter in
            filter.hasSuffix(".*") ? action.hasPrefix(String(filter.dropLast())) : filter == action
        }
    }
}

/// One message to one endpoint: its `webhook-id` stays the same on every attempt.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        case pending, succeeded, failed
    }

    public var id: String
    public var organizationID: String
    public var endpointID: String
    public var type: String
    /// The JSON of the payload's `data`.
    public var data: String
    public var createdAt: Date
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastStatusCode: Int?
    public var lastError: String?

    public init(
        id: String, organizationID: String, endpointID: String, type: String, data: String, createdAt: Date,
        status: Status = .pending, attempts: Int = 0, nextAttemptAt: Date?, lastStatusCode: Int? = nil, lastError: String? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.endpointID = endpointID
        self.type = type
        self.data = data
        self.createdAt = createdAt
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
    }

    public static let idPrefix = "msg"

    /// The body every attempt sends: `{"type","timestamp","data"}`.
    public var body: [UInt8] {
        Array(#"{"data":\#(data),"timestamp":"\#(Timestamp.format(createdAt))","type":"\#(type)"}"#.utf8)
    }
}

/// One attempt of a delivery, as the delivery log shows it.
public struct WebhookAttempt: Sendable, Equatable {
    public var deliveryID: String
    public var number: Int
    public var at: Date
    public var statusCode: Int?
    public var latencyMilliseconds: Int
    public var error: String?
    public var nextAttemptAt: Date?

    public init(deliveryID: String, number: Int, at: Date, statusCode: Int?, latencyMilliseconds: Int, error: String?, nextAttemptAt: Date?) {
        self.deliveryID = deliveryID
        self.number = number
        self.at = at
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.error = error
        self.nextAttemptAt = nextAttemptAt
    }
}

/// The retry schedule of docs/api.md#webhooks (Svix's): at once, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
public enum WebhookRetryPolicy {
    public static let delays: [TimeInterval] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000]
    /// An endpoint failing for this long is disabled.
    public static let disableAfter: TimeInterval = 5 * 86_400

    /// When the attempt after attempt number `attempt` (1-based) happens, or nil when the schedule is exhausted.
    /// Jitter of ±10 % spreads retries; a receiver's `Retry-After` can only push it later, by at most
    /// `RetryAfter.maximum` (a non-finite one is ignored).
    public static func nextAttempt(after attempt: Int, at now: Date, retryAfter: TimeInterval?, jitter: Double) -> Date? {
        guard attempt >= 1, attempt <= delays.count else { return nil }
        let base = delays[attempt - 1] * (1 + (jitter.isFinite ? max(-0.1, min(0.1, jitter)) : 0))
        let asked = retryAfter.map { $0.isFinite ? min($0, RetryAfter.maximum) : 0 } ?? 0
        return now.addingTimeInterval(max(base, asked))
    }
}
