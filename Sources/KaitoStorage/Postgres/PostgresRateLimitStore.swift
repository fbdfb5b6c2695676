import KaitoCore
import PostgresKit
import PostgresNIO
import SQLKit

/// GCRA state shared by every server on one PostgreSQL database: each check is one atomic
/// `INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING` that both decides and updates.
struct PostgresRateLimitStore: RateLimitStore {
    let client: PostgresClient
    /// The storage's deadline: a rate-limit check waits no longer for the database than a unit of work.
    let timeout: Duration

    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        try await acquire(keyID: keyID, group: group, rule: rule, now: now, units: 1)
    }

    /// Takes `units` at once, all or none: the TAT moves by `units` intervals if the last of them fits the burst.
    /// An admitted decision's `newTAT` is the TAT after all of them.
    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64, units: Int) async throws -> RateLimitDecision {
        let client = self.client
        let step = rule.interval * Int64(units)
        // The last unit fits when the TAT before it (the new TAT less one interval) is within the tolerance.
        let tolerance = rule.tolerance - rule.interval * Int64(units - 1)
        return try await DatabaseDeadline.run(timeout) { try await client.withConnection { connection in
            let db = connection.sql()
            let admitted = try await db.raw("""
                INSERT INTO rate_limit_state (key_id, bucket, tat) VALUES (\(bind: keyID), \(bind: group.rawValue), \(bind: now + step))
                ON CONFLICT (key_id, bucket) DO UPDATE SET tat = GREATEST(rate_limit_state.tat, \(bind: now)) + \(bind: step)
                WHERE GREATEST(rate_limit_state.tat, \(bind: now)) - \(bind: now) <= \(bind: tolerance)
                RETURNING tat
                """).first()
            if let admitted {
                return rule.admitted(newTAT: try admitted.decode(column: "tat", as: Int64.self), now: now)
            }
            let tat = try await Self.currentTAT(db, keyID: keyID, group: group) ?? now
            return rule.rejected(tat: max(tat, now), now: now)
        } }
    }

    func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        let client = self.client
        return try await DatabaseDeadline.run(timeout) {
            try await client.withConnection { connection in
                rule.peek(tat: try await Self.currentTAT(connection.sql(), keyID: keyID, group: group), now: now)
            }
        }
    }

    private static func currentTAT(_ db: any SQLDatabase, keyID: String, group: RateLimitGroup) async throws -> Int64? {
        try await db.raw("SELECT tat FROM rate_limit_state WHERE key_id = \(bind: keyID) AND bucket = \(bind: group.rawValue)")
            .first()?.decode(column: "tat", as: Int64.self)
    }
}
