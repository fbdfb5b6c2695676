import SQLKit

/// Organisations, their wrapped data keys, API keys and tokens.
enum Migration001 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "organizations")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("name", type: .text, .notNull, .unique)
            .column("plan", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()

        try await db.create(table: "data_keys")
            .column("org_id", type: .text, .primaryKey(autoIncrement: false), .references("organizations", "id"))
            .column("master_key_id", type: .text, .notNull)
            .column("wrapped_key", type: .blob, .notNull)
            .run()

        try await db.create(table: "api_keys")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("name", type: .text, .notNull)
            .column("hint", type: .text, .notNull)
            .column("key_hash", type: .blob, .notNull, .unique)
            .column("scopes", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("created_by", type: .text, .notNull)
            .column("expires_at", type: .bigint)
            .column("revoked_at", type: .bigint)
            .run()
        try await db.create(index: "api_keys_org_id").on("api_keys").column("org_id").column("id").run()

        try await db.create(table: "tokens")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("slug", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("issuer", type: .text)
            .column("account", type: .text)
            .column("kind", type: .text, .notNull)
            .column("algorithm", type: .text, .notNull)
            .column("digits", type: .bigint, .notNull)
            .column("period", type: .bigint, .notNull)
            .column("sealed_seed", type: .blob, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .unique("org_id", "slug")
            .run()
    }
}
