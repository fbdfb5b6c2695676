import Foundation

/// How many code fetches, or denials, one key had for one token in one hour (`AuditService.activity`).
public struct ActivityCount: Sendable, Equatable {
    /// The actor: a key id (or a user's, for the dashboard's own reads).
    public var keyID: String
    /// The token, when the event names one.
    public var tokenSlug: String?
    public var denied: Bool
    /// Hours since 1970 (UTC).
    public var hour: Int
    public var count: Int

    public init(keyID: String, tokenSlug: String?, denied: Bool, hour: Int, count: Int) {
        (self.keyID, self.tokenSlug, self.denied, self.hour, self.count) = (keyID, tokenSlug, denied, hour, count)
    }
}
