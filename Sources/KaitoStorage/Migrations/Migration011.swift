import SQLKit

/// Token grants: the tokens a member sees and uses in the dashboard (owners and admins see every token).
enum Migration011 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "user_token_grants")
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("user_id", type: .text, .notNull)
            .column("token_slug", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .primaryKey("org_id", "user_id", "token_slug")
            .run()
        try await db.create(index: "user_token_grants_token").on("user_token_grants").column("org_id").column("token_slug").run()
    }
}
