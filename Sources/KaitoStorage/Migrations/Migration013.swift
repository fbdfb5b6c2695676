import SQLKit

/// Keyed audit chains and folded denials: each chain's stored state gains `keyed_from` (events up to it were
/// written before chains were keyed, plain SHA-256) and `tag` (an HMAC over the state under the chain key, so that
/// a head moved back or an anchor moved forward is caught); an event gains `occurrences` (the API's `count`) (repeated denials folded into one
/// event; NULL means 1).
enum Migration013 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.alter(table: "audit_heads").column("keyed_from", type: .bigint, .notNull, .default(0)).run()
        try await db.alter(table: "audit_heads").column("tag", type: .text).run()
        try await db.alter(table: "audit_events").column("occurrences", type: .bigint).run()
    }
}
