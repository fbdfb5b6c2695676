import Foundation

/// Queues webhook deliveries inside the transaction of the change that causes them: a change that rolls back sends
/// nothing, and one that commits loses nothing. Every topic goes through here.
public struct Outbox: Sendable {
    let random: any RandomSource

    public init(random: any RandomSource) {
        self.random = random
    }

    /// One delivery of `data` (JSON text) to every enabled endpoint of the organisation subscribed to `topic` whose
    /// filter (`wants`) accepts it.
    public func enqueue(
        _ topic: WebhookTopic, data: String, organizationID: String, at now: Date, in session: any StorageSession,
        where wants: (WebhookEndpoint) -> Bool = { _ in true }
    ) async throws {
        for endpoint in try await session.webhooks.activeEndpoints(organizationID: organizationID, topic: topic) where wants(endpoint) {
            try await session.webhooks.insertDelivery(WebhookDelivery(
                id: Identifier.make(prefix: WebhookDelivery.idPrefix, at: now, random: random), organizationID: organizationID,
                endpointID: endpoint.id, type: topic.rawValue, data: data, createdAt: now, nextAttemptAt: now
            ))
        }
    }

    /// JSON text of `object` with sorted keys, for a delivery's `data`.
    public static func json(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
