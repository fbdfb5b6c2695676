import SQLKit

/// Versions of organisations' data keys, for data-key rotation: `data_keys` holds the current version (existing
/// keys are version 1) and `retired_data_keys` the earlier versions while values they sealed are re-encrypted.
enum Migration009 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.alter(table: "data_keys").column("version", type: .bigint, .notNull, .default(1)).run()
        try await db.create(table: "retired_data_keys")
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("version", type: .bigint, .notNull)
            .column("master_key_id", type: .text, .notNull)
            .column("wrapped_key", type: .blob, .notNull)
            .column("retired_at", type: .bigint, .notNull)
            .primaryKey("org_id", "version")
            .run()
    }
}
