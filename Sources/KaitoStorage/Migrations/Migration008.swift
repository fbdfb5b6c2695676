import SQLKit

/// Server-wide secrets wrapped by the master key (the key under which API keys are hashed), each with the id of the
/// master key that wraps it: the record of which master key is current, for rotation.
enum Migration008 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "server_secrets")
            .column("name", type: .text, .primaryKey(autoIncrement: false))
            .column("master_key_id", type: .text, .notNull)
            .column("wrapped", type: .blob, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .run()
    }
}
