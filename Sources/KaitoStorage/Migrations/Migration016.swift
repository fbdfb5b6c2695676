import SQLKit

/// An index for the webhook claim's walk over endpoints: each endpoint's oldest due delivery is one short range of
/// it, however long that endpoint's queue.
enum Migration016 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(index: "webhook_deliveries_endpoint_due").on("webhook_deliveries")
            .column("endpoint_id").column("status").column("next_attempt_at").run()
    }
}
