import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Testing

/// What an outside probe threw at webhooks, through the production application and on real sockets: URLs that must
/// not be stored, addresses that must not be reached, receivers that answer with hostile `Retry-After` values or
/// trickle their answer. Bad input gets a problem response and changes nothing; no receiver stops the dispatcher.
@Suite("Hostile webhook input", .serialized)
struct HostileWebhookInputTests {}

extension HostileWebhookInputTests {
    func deliveries(_ client: any TestClientProtocol, _ admin: String, _ hook: WebhookResponse) async throws -> [WebhookDeliveryResponse] {
        try await client.send(.get, "/v1/webhooks/\(hook.id)/deliveries", key: admin).decode(ListResponse<WebhookDeliveryResponse>.self).data
    }

    /// Registers an endpoint at a placeholder, starts a real receiver with its secret, and points the endpoint at it.
    func receiverHook(
        _ test: TestRuntime, _ client: any TestClientProtocol, statuses: [Int] = [200], retryAfter: String = "120"
    ) async throws -> (WebhookResponse, WebhookReceiver) {
        let created = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/none", "topics": ["token.permission.changed"]}"#)
        let hook = try created.decode(WebhookResponse.self)
        let receiver = try await WebhookReceiver.start(secrets: [try #require(hook.secret)], statuses: statuses, retryAfter: retryAfter)
        _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
        return (hook, receiver)
    }

    @Test("A receiver's hostile Retry-After neither crashes the dispatcher nor pushes a retry past 24 hours", arguments: [
        "1e20", "inf", "-inf", "nan", "-5", "5.5", "99999999999999999999999", "9223372036854775807", "Fri, 31 Dec 9999 23:59:59 GMT",
    ])
    func hostileRetryAfter(value: String) async throws {
        try await withTestRuntime(clock: ManualClock(Date().addingTimeInterval(-180))) { test in
            try await test.withApp { client in
                let (hook, receiver) = try await receiverHook(test, client, statuses: [503, 200], retryAfter: value)
                defer { receiver.stop() }
                let dispatcher = WebhookTests.dispatcher(test)
                _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
                let sentAt = test.clock.now()
                #expect(try await dispatcher.dispatchDue() == 1)
                let attempt = try #require(try await deliveries(client, test.adminKey, hook).first?.attempts.first)
                #expect(attempt.statusCode == 503)
                let next = try #require(attempt.nextAttemptAt.flatMap(Timestamp.parse))
                #expect(next.timeIntervalSince(sentAt) >= 3 && next.timeIntervalSince(sentAt) <= RetryAfter.maximum, "\(value): \(next), whole seconds")

                test.clock.advance(by: RetryAfter.maximum + 1)
                #expect(try await dispatcher.dispatchDue() == 1, "the retry is due within 24 hours")
                #expect(try await receiver.waitForDeliveries(2).map(\.status) == [503, 200])
                #expect(try await deliveries(client, test.adminKey, hook).first?.status == "succeeded")
            }
        }
    }

}
