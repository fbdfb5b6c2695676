import Foundation
import NIOConcurrencyHelpers

/// The per-minute limit groups of docs/api.md#rate-limits.
public enum RateLimitGroup: String, Sendable, Codable, CaseIterable {
    case code, read, write

    /// The default limit per key and minute.
    public var defaultLimit: Int {
        switch self {
        case .code: return 60
        case .read: return 300
        case .write: return 60
        }
    }
}

/// A key's own limits (plan Enterprise only); a nil group uses the default.
public struct RateLimitOverrides: Sendable, Equatable, Codable {
    public var code: Int?
    public var read: Int?
    public var write: Int?

    public init(code: Int? = nil, read: Int? = nil, write: Int? = nil) {
        self.code = code
        self.read = read
        self.write = write
    }

    public static let allowedRange = 1...100_000

    public var isEmpty: Bool { code == nil && read == nil && write == nil }

    /// The GCRA rule of `group` under these limits.
    func rule(for group: RateLimitGroup) -> GCRA { GCRA(limit: limit(for: group)) }

    public func limit(for group: RateLimitGroup) -> Int {
        switch group {
        case .code: return code ?? group.defaultLimit
        case .read: return read ?? group.defaultLimit
        case .write: return write ?? group.defaultLimit
        }
    }

    /// - Throws: `validation_failed` naming `rate_limits.<group>` for a limit outside 1...100000.
    public func validate() throws {
        for (name, value) in [("code", code), ("read", read), ("write", write)] {
            if let value, !Self.allowedRange.contains(value) {
                throw KaitoError.validation("rate_limits.\(name)", "must be between 1 and 100000 requests per minute")
            }
        }
    }
}

/// Where rate-limit state lives. On PostgreSQL it is shared by every server (one atomic statement per check);
/// on SQLite, with a single server, it is kept in memory.
public protocol RateLimitStore: Sendable {
    /// Decides a request of `keyID` in `group` at `now` (Unix microseconds) under `rule`, consuming one unit if allowed.
    /// - Throws: `unavailable` when the shared state cannot be reached.
    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision
    /// The standing of `keyID` in `group` without consuming anything.
    func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision
}

extension RateLimitStore {
    /// Decides a request of `key` in `group` at `now` under the key's own limit for the group, consuming one unit if
    /// allowed: the one place a key's rule is built.
    public func acquire(for key: APIKey, group: RateLimitGroup, at now: Date) async throws -> RateLimitDecision {
        try await acquire(keyID: key.id, group: group, rule: key.rateLimits.rule(for: group), now: now.unixMicroseconds)
    }

    /// The standing of `key` in `group` at `now`, consuming nothing.
    public func peek(for key: APIKey, group: RateLimitGroup, at now: Date) async throws -> RateLimitDecision {
        try await peek(keyID: key.id, group: group, rule: key.rateLimits.rule(for: group), now: now.unixMicroseconds)
    }
}

/// GCRA state in this process's memory: exact for one server (SQLite), and no database write per request.
public final class InMemoryRateLimitStore: RateLimitStore {
    private let state = NIOLockedValueBox<[String: Int64]>([:])

    public init() {}

    public func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        state.withLockedValue { state in
            let name = keyID + "|" + group.rawValue
            let decision = rule.decide(tat: state[name], now: now)
            if decision.allowed { state[name] = decision.newTAT }
            return decision
        }
    }

    public func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        state.withLockedValue { rule.peek(tat: $0[keyID + "|" + group.rawValue], now: now) }
    }
}

extension Date {
    /// The instant as whole Unix microseconds, the unit of rate-limit arrival times.
    public var unixMicroseconds: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }

    /// The instant as whole Unix milliseconds (what a browser's `Date.now()` counts).
    public var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1_000).rounded(.down)) }
}
