import SQLKit

/// Key restrictions (networks, token binding, single use, expiry already in 001), usage, per-key limits, and the
/// shared GCRA state that PostgreSQL servers use.
enum Migration002 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        // One column per ALTER: SQLite adds columns one at a time.
        let columns: [(String, SQLDataType, [SQLColumnConstraintAlgorithm])] = [
            ("allowed_cidrs", .text, []),
            ("token_slugs", .text, []),
            ("single_use", .bigint, [.notNull, .default(0)]),
            ("spent_at", .bigint, []),
            ("last_used_at", .bigint, []),
            ("last_used_ip", .text, []),
            ("rate_limit_code", .bigint, []),
            ("rate_limit_read", .bigint, []),
            ("rate_limit_write", .bigint, []),
        ]
        for (name, type, constraints) in columns {
            try await db.alter(table: "api_keys").column(name, type: type, constraints).run()
        }

        try await db.create(table: "rate_limit_state")
            .column("key_id", type: .text, .notNull)
            .column("bucket", type: .text, .notNull)
            .column("tat", type: .bigint, .notNull)
            .primaryKey("key_id", "bucket")
            .run()
    }
}
