import SQLKit

/// SMS inboxes, inbound messages and organisations' provider credentials.
enum Migration005 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "inboxes")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            // A number belongs to at most one inbox on the whole server: the provider's callback is routed by it.
            .column("phone_number", type: .text, .notNull, .unique)
            .column("label", type: .text)
            .column("provider", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "inboxes_org").on("inboxes").column("org_id").column("id").run()

        try await db.create(table: "sms_messages")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("org_id", type: .text, .notNull)
            .column("inbox_id", type: .text, .notNull)
            .column("from_number", type: .text, .notNull)
            .column("to_number", type: .text, .notNull)
            .column("body", type: .text, .notNull)
            .column("received_at", type: .bigint, .notNull)
            .column("code", type: .text)
            .column("provider", type: .text, .notNull)
            .column("provider_message_id", type: .text, .notNull)
            // The provider's message id makes a repeated callback store nothing more.
            .unique("provider", "provider_message_id")
            .run()
        try await db.create(index: "sms_messages_inbox").on("sms_messages").column("inbox_id").column("id").run()
        try await db.create(index: "sms_messages_org").on("sms_messages").column("org_id").column("id").run()

        try await db.create(table: "provider_credentials")
            .column("org_id", type: .text, .notNull, .references("organizations", "id"))
            .column("provider", type: .text, .notNull)
            .column("account_id", type: .text, .notNull)
            .column("sealed_secret", type: .blob, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .primaryKey("org_id", "provider")
            .run()
    }
}
