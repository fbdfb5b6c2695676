import SQLKit

/// Indexes for the webhook claim's caps: how many of an endpoint's and of an organisation's deliveries are leased now
/// is counted for every candidate of every claim, and must stay a short index range, however long the queue.
enum Migration014 {
    @Sendable static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(index: "webhook_deliveries_endpoint_leased").on("webhook_deliveries")
            .column("endpoint_id").column("status").column("lease_until").run()
        try await db.create(index: "webhook_deliveries_org_leased").on("webhook_deliveries")
            .column("org_id").column("status").column("lease_until").run()
    }
}
