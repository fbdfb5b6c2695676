import SQLKit

/// Subscriptions on organisations, the organisation's users, and keys issued to a user.
enum Migration007 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        // One column per ALTER: SQLite adds a single column per statement.
        try await db.alter(table: "organizations").column("subscription_status", type: .text).run()
        try await db.alter(table: "organizations").column("current_period_end", type: .bigint).run()
        try await db.alter(table: "api_keys").column("user_id", type: .text).run()
        try await db.create(table: "users")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("email", type: .text, .notNull)
            .column("name", type: .text)
            .column("role", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .unique("org_id", "email")
            .run()
        try await db.create(index: "api_keys_user").on("api_keys").column("org_id").column("user_id").run()
    }
}
