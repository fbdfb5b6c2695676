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
        _ topic: WebhookTopic, data: @autoclosure () -> String, organizationID: String, at now: Date, in session: any StorageSession,
        where wants: (WebhookEndpoint) -> Bool = { _ in true }
    ) async throws {
        // The payload is built only when an endpoint wants it: most audited requests have no audit.event subscriber.
        let endpoints = try await session.webhooks.activeEndpoints(organizationID: organizationID, topic: topic)
        for delivery in deliveries(topic, data: data(), organizationID: organizationID, at: now, to: endpoints, where: wants) {
            try await session.webhooks.insertDelivery(delivery)
        }
    }

    /// The deliveries `enqueue` would write, for `endpoints` already read (enabled and subscribed to `topic`).
    public func deliveries(
        _ topic: WebhookTopic, data: @autoclosure () -> String, organizationID: String, at now: Date, to endpoints: [WebhookEndpoint],
        where wants: (WebhookEndpoint) -> Bool
    ) -> [WebhookDelivery] {
        var payload: String?
        return endpoints.filter { $0.topics.contains(topic) && wants($0) }.map { endpoint in
            let text = payload ?? data()
            payload = text
            return WebhookDelivery(
                id: Identifier.make(prefix: WebhookDelivery.idPrefix, at: now, random: random), organizationID: organizationID,
                endpointID: endpoint.id, type: topic.rawValue, data: text, createdAt: now, nextAttemptAt: now)
        }
    }

    /// JSON text of `object` with sorted keys, for a delivery's `data`.
    public static func json(_ object: [String: Any]) -> String {
        JSONText.encode(object)
    }
}
