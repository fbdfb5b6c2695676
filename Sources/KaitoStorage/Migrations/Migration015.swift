import SQLKit

/// Idempotency keys: the first response to a `POST` sent with an `Idempotency-Key`, per organisation and calling key,
/// replayed for 24 hours (`IdempotencyService`). `status` is null while the first request still runs; `committed` is
/// set by the first transaction of that request that changed anything (so a lost answer never lets it run again);
/// the body is sealed with the organisation's data key (a response may hold a new API key or webhook secret).
enum Migration015 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "idempotency_keys")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("key_id", type: .text, .notNull)
            .column("idempotency_key", type: .text, .notNull)
            .column("fingerprint", type: .text, .notNull)
            .column("committed", type: .bigint, .notNull, .default(0))
            .column("status", type: .bigint)
            .column("content_type", type: .text)
            .column("location", type: .text)
            .column("sealed_body", type: .blob)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "idempotency_keys_scope").unique().on("idempotency_keys")
            .column("org_id").column("key_id").column("idempotency_key").run()
        try await db.create(index: "idempotency_keys_created").on("idempotency_keys").column("created_at").run()
    }
}
