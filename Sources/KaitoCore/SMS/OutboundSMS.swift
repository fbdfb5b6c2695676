import Foundation

/// An SMS sent through the API, as it moves through `queued`, `sent`, `delivered`, `undelivered` or `failed`.
public struct OutboundSMS: Sendable, Equatable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case queued, sent, delivered, undelivered, failed

        /// How far along a status is; a status never moves to a lower rank (a late `sent` after `delivered`
        /// changes nothing).
        public var rank: Int {
            switch self {
            case .queued: return 0
            case .sent: return 1
            case .delivered, .undelivered, .failed: return 2
            }
        }

        /// Twilio's `MessageStatus` values mapped onto ours; nil for those that say nothing new.
        public init?(twilio status: String) {
            switch status {
            case "queued", "accepted", "scheduled", "sending": self = .queued
            case "sent": self = .sent
            case "delivered", "read": self = .delivered
            case "undelivered": self = .undelivered
            case "failed", "canceled": self = .failed
            default: return nil
            }
        }
    }

    public var id: String
    public var organizationID: String
    public var inboxID: String
    public var provider: SMSProvider
    public var from: String
    public var to: String
    public var body: String
    public var status: Status
    /// The provider's id once it accepted the message (Twilio's `sid`); the sender never sends a message twice
    /// once it has one.
    public var providerMessageID: String?
    public var error: String?
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// The body as stored, sealed under the organisation's data key (bound to the message id); `body` is filled in
    /// when the service opens it.
    public var sealedBody: [UInt8]?

    public init(
        id: String, organizationID: String, inboxID: String, provider: SMSProvider, from: String, to: String, body: String,
        status: Status = .queued, providerMessageID: String? = nil, error: String? = nil, attempts: Int = 0,
        nextAttemptAt: Date?, createdAt: Date, updatedAt: Date, sealedBody: [UInt8]? = nil
    ) {
        self.sealedBody = sealedBody
        self.id = id
        self.organizationID = organizationID
        self.inboxID = inboxID
        self.provider = provider
        self.from = from
        self.to = to
        self.body = body
        self.status = status
        self.providerMessageID = providerMessageID
        self.error = error
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let idPrefix = "out"
    /// Delays before the sender tries again after a provider error that may pass (5xx, no answer); then `failed`.
    public static let retryDelays: [TimeInterval] = [5, 30, 120, 600]

    /// The `data` of an `sms.delivery_status` webhook.
    public func statusJSON(previous: Status?) -> String {
        Outbox.json([
            "id": id, "inbox_id": inboxID, "from": from, "to": to, "status": status.rawValue,
            "previous_status": previous?.rawValue as Any? ?? NSNull(), "error": error as Any? ?? NSNull(),
            "updated_at": Timestamp.format(updatedAt),
        ])
    }
}
