import HTTPTypes
import KaitoCore

/// `RateLimit-Policy: "<group>";q=<limit>;w=60` and `RateLimit: "<group>";r=<remaining>;t=<seconds until full>`
/// (docs/api.md#rate-limits, the IETF RateLimit header fields draft).
enum RateLimitHeaders {
    static let policy = HTTPField.Name("RateLimit-Policy")!
    static let state = HTTPField.Name("RateLimit")!

    static func fields(group: RateLimitGroup, decision: RateLimitDecision) -> HTTPFields {
        [
            policy: "\"\(group.rawValue)\";q=\(decision.limit);w=60",
            state: "\"\(group.rawValue)\";r=\(decision.remaining);t=\(RateLimitDecision.seconds(decision.resetAfter))",
        ]
    }
}
