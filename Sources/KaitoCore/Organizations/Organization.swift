import Foundation

/// A tenant: every token, key and event belongs to exactly one organisation, and nothing crosses between them.
public struct Organization: Sendable, Equatable {
    public var id: String
    public var name: String
    public var plan: Plan
    public var createdAt: Date
    /// `active` on a paid plan, `canceled` after going back to free, nil for an organisation that never paid.
    public var subscriptionStatus: String?
    public var currentPeriodEnd: Date?

    public init(id: String, name: String, plan: Plan = .free, createdAt: Date, subscriptionStatus: String? = nil, currentPeriodEnd: Date? = nil) {
        self.id = id
        self.name = name
        self.plan = plan
        self.createdAt = createdAt
        self.subscriptionStatus = subscriptionStatus
        self.currentPeriodEnd = currentPeriodEnd
    }

    public static let idPrefix = "org"

    /// Organisation names: `[a-z0-9][a-z0-9-]{0,62}`, like token slugs, so that operators can type them.
    public static func validateName(_ name: String, field: String = "name") throws {
        guard Token.isValidSlug(name) else {
            throw KaitoError.validation(field, "must match [a-z0-9][a-z0-9-]{0,62}")
        }
    }
}

/// The organisation's subscription plan, which gates features such as sending SMS.
public enum Plan: String, Sendable, Codable, CaseIterable {
    case free
    case business
    case enterprise
}
