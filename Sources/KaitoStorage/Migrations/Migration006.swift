import SQLKit

/// Outbound SMS: queued by the API, sent by each server's sender service, moved forward by the provider's status
/// callbacks.
enum Migration006 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "sms_outbound")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull)
            .column("inbox_id", type: .text, .notNull)
            .column("provider", type: .text, .notNull)
            .column("from_number", type: .text, .notNull)
            .column("to_number", type: .text, .notNull)
            .column("body", type: .text, .notNull)
            .column("status", type: .text, .notNull)
            .column("provider_message_id", type: .text)
            .column("error", type: .text)
            .column("attempts", type: .bigint, .notNull)
            .column("next_attempt_at", type: .bigint)
            .column("lease_until", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "sms_outbound_due").on("sms_outbound").column("status").column("next_attempt_at").run()
        // Status callbacks find the message by the provider's id (NULLs, not yet sent, do not collide).
        try await db.create(index: "sms_outbound_provider_id").on("sms_outbound").column("provider").column("provider_message_id").unique().run()
        try await db.create(index: "sms_outbound_org").on("sms_outbound").column("org_id").column("id").run()
    }
}
