import KaitoCore
import Logging
import PostgresNIO

/// Maps driver failures of a shared rate-limit store to `unavailable`: a server that cannot check the shared
/// limit refuses the request rather than letting it through unlimited.
struct MappedRateLimitStore: RateLimitStore {
    let base: any RateLimitStore
    let logger: Logger

    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        try await mapping { try await base.acquire(keyID: keyID, group: group, rule: rule, now: now) }
    }

    func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        try await mapping { try await base.peek(keyID: keyID, group: group, rule: rule, now: now) }
    }

    private func mapping(_ body: () async throws -> RateLimitDecision) async throws -> RateLimitDecision {
        do {
            return try await body()
        } catch let error as PSQLError {
            logger.error("rate-limit store error", metadata: ["code": "\(error.code)", "sqlstate": "\(error.serverInfo?[.sqlState] ?? "-")"])
            throw KaitoError(.unavailable, "The rate limit could not be checked.", retryAfter: DatabaseDeadline.retryAfter)
        }
    }
}
