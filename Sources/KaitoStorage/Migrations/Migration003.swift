import SQLKit

/// The audit log: events with their hash chain, and one head row per organisation (the lock point of the chain,
/// and the anchor verification starts from after pruning).
enum Migration003 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "audit_events")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull)
            .column("seq", type: .bigint, .notNull)
            .column("at", type: .bigint, .notNull)
            .column("actor_type", type: .text, .notNull)
            .column("actor_id", type: .text, .notNull)
            .column("actor_name", type: .text)
            .column("action", type: .text, .notNull)
            .column("target_type", type: .text)
            .column("target_id", type: .text)
            .column("outcome", type: .text, .notNull)
            .column("reason", type: .text)
            .column("ip", type: .text)
            .column("user_agent", type: .text)
            .column("request_id", type: .text)
            .column("flagged", type: .bigint, .notNull)
            .column("prev_hash", type: .text, .notNull)
            .column("hash", type: .text, .notNull)
            .unique("org_id", "seq")
            .run()
        try await db.create(index: "audit_events_org_at").on("audit_events").column("org_id").column("at").run()

        try await db.create(table: "audit_heads")
            .column("org_id", type: .text, .primaryKey(autoIncrement: false))
            .column("seq", type: .bigint, .notNull)
            .column("hash", type: .text, .notNull)
            .column("anchor_seq", type: .bigint, .notNull)
            .column("anchor_hash", type: .text, .notNull)
            .run()
    }
}
