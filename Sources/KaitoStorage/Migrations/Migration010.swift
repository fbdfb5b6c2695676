import SQLKit

/// The dashboard: users' credentials (bcrypt password hash, sealed TOTP secret, lockout) and sessions (only the
/// SHA-256 of each session token).
enum Migration010 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "user_credentials")
            .column("user_id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("password_hash", type: .text, .notNull)
            .column("totp_sealed", type: .blob)
            .column("totp_enrolled_at", type: .bigint)
            .column("totp_last_counter", type: .bigint)
            .column("failed_attempts", type: .bigint, .notNull, .default(0))
            .column("locked_until", type: .bigint)
            .column("updated_at", type: .bigint, .notNull)
            .run()
        try await db.create(table: "dashboard_sessions")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("token_hash", type: .blob, .notNull, .unique)
            .column("user_id", type: .text, .notNull)
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("second_factor_at", type: .bigint)
            .column("csrf_token", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .column("last_seen_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "dashboard_sessions_user").on("dashboard_sessions").column("org_id").column("user_id").run()
    }
}
