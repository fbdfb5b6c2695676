import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Logging
import Testing

/// Deliveries to a real receiver on loopback that checks every one with the `standardwebhooks` package. The test
/// drives the dispatcher step by step with the pinned clock, which starts three minutes in the past so that every
/// attempt's timestamp stays inside standardwebhooks' five-minute tolerance.
@Suite("Webhook deliveries to a real receiver (docs/api.md#webhooks)", .serialized)
struct WebhookDeliveryTests {
    static let seed = "JBSWY3DPEHPK3PXP"

    func register(_ client: any TestClientProtocol, _ admin: String, url: String, topics: [String] = ["audit.event"], actions: [String] = []) async throws -> WebhookResponse {
        let body = try JSONSerialization.data(withJSONObject: ["url": url, "topics": topics, "audit_actions": actions])
        let response = try await client.send(.post, "/v1/webhooks", key: admin, json: String(decoding: body, as: UTF8.self))
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(WebhookResponse.self)
    }

    func log(_ client: any TestClientProtocol, _ admin: String, _ hook: WebhookResponse) async throws -> [WebhookDeliveryResponse] {
        try await client.send(.get, "/v1/webhooks/\(hook.id)/deliveries", key: admin).decode(ListResponse<WebhookDeliveryResponse>.self).data
    }

    func withReceiverApp(
        statuses: [Int] = [200], retryAfter: String = "120",
        _ body: @Sendable @escaping (TestRuntime, any TestClientProtocol, WebhookDispatcher, @Sendable ([String]) async throws -> WebhookReceiver) async throws -> Void
    ) async throws {
        try await withTestRuntime(clock: ManualClock(Date().addingTimeInterval(-180))) { test in
            let receivers = Receivers()
            do {
                try await test.withApp { client in
                    try await body(test, client, WebhookTests.dispatcher(test)) { secrets in
                        let receiver = try await WebhookReceiver.start(secrets: secrets, statuses: statuses, retryAfter: retryAfter)
                        receivers.add(receiver)
                        return receiver
                    }
                }
                receivers.stopAll()
            } catch {
                receivers.stopAll()
                throw error
            }
        }
    }

    @Test("An audit event is delivered, signed so that standardwebhooks verifies it; failures are retried with one webhook-id")
    func retriedDelivery() async throws {
        try await withReceiverApp(statuses: [500, 503, 200]) { test, client, dispatcher, startReceiver in
            // The receiver needs the secret, which registration returns: register with a placeholder URL first, then
            // point the endpoint at the receiver once it runs with that secret.
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", actions: ["token.*"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            let patched = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            #expect(patched.status == .ok)

            let writer = try await test.key([.tokensWrite])
            let created = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "aws-prod", "secret": "\#(Self.seed)"}"#)
            #expect(created.status == .created)
            #expect(try await dispatcher.dispatchDue() == 1)
            try await receiver.waitForDeliveries(1)
            // Not due again before the first retry delay (5 s, jitter ±10 %).
            test.clock.advance(by: 3)
            #expect(try await dispatcher.dispatchDue() == 0)
            test.clock.advance(by: 3)
            #expect(try await dispatcher.dispatchDue() == 1)
            test.clock.advance(by: 331)
            #expect(try await dispatcher.dispatchDue() == 1)
            let deliveries = try await receiver.waitForDeliveries(3)

            #expect(deliveries.count == 3)
            #expect(Set(deliveries.map(\.id)).count == 1)
            #expect(deliveries.map(\.status) == [500, 503, 200])
            for delivery in deliveries {
                #expect(delivery.verified == [true], "standardwebhooks verifies every attempt")
                #expect(delivery.signatures == 1)
                #expect(delivery.type == "audit.event")
                #expect(try delivery.object()["action"] as? String == "token.create")
                #expect(try (delivery.object()["target"] as? [String: Any])?["id"] as? String == "aws-prod")
                #expect(!delivery.data.contains(Self.seed))
            }
            // Only the subscribed actions: webhook.update (the PATCH above) was not sent.
            test.clock.advance(by: 86_400)
            #expect(try await dispatcher.dispatchDue() == 0)

            let log = try await log(client, test.adminKey, hook)
            let entry = try #require(log.first)
            #expect(log.count == 1)
            #expect(entry.id == deliveries[0].id)
            #expect(entry.status == "succeeded")
            #expect(entry.nextAttemptAt == nil)
            #expect(entry.attempts.map(\.statusCode) == [500, 503, 200])
            #expect(entry.attempts.map(\.number) == [1, 2, 3])
            #expect(entry.attempts[0].nextAttemptAt != nil && entry.attempts[2].nextAttemptAt == nil)

            // A manual retry sends it once more with the same webhook-id.
            let retried = try await client.send(.post, "/v1/webhooks/\(hook.id)/deliveries/\(entry.id)/retry", key: test.adminKey)
            #expect(retried.status == .accepted, "\(retried.text)")
            #expect(try await dispatcher.dispatchDue() == 1)
            let again = try await receiver.waitForDeliveries(4)
            #expect(again[3].id == entry.id)
            #expect(again[3].signed == [true], "a day later than the real clock: the signature alone is checked")
        }
    }

    @Test("A slot that an answer frees is filled at once: a busy endpoint's queue drains at the receiver's pace, not four attempts per poll")
    func freedSlotsRefilled() async throws {
        try await withReceiverApp { test, client, _, startReceiver in
            // Subscribed to an action nothing here does: only the test deliveries are queued.
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", actions: ["token.delete"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            let patched = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            #expect(patched.status == .ok)
            var queued: Set<String> = []
            for _ in 0..<(3 * WebhookDispatcher.maximumPerEndpoint) {
                let delivery = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey).decode(WebhookDeliveryResponse.self)
                queued.insert(delivery.id)
            }
            // A poll an hour apart: only freed slots can bring the later deliveries out within the wait.
            let dispatcher = WebhookTests.dispatcher(test, pollInterval: .seconds(3600))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await dispatcher.run() }
                let deliveries = try await receiver.waitForDeliveries(queued.count, timeout: .seconds(30))
                group.cancelAll()
                #expect(Set(deliveries.map(\.id)) == queued)
                #expect(deliveries.allSatisfy { $0.verified == [true] })
            }
        }
    }

    @Test("A 410 answer disables the endpoint at once, with an audit event, and nothing more is sent to it")
    func goneDisables() async throws {
        try await withReceiverApp(statuses: [410]) { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", topics: ["token.permission.changed"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            let test1 = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
            #expect(test1.status == .accepted, "\(test1.text)")
            #expect(try await dispatcher.dispatchDue() == 1)
            let first = try await receiver.waitForDeliveries(1)
            #expect(first[0].type == "webhook.test")
            #expect(first[0].verified == [true])

            let endpoint = try await client.send(.get, "/v1/webhooks/\(hook.id)", key: test.adminKey).decode(WebhookResponse.self)
            #expect(endpoint.enabled == false)
            #expect(endpoint.disabledReason?.contains("410") == true)
            let auditor = try await test.key([.auditRead])
            let audit = try await client.send(.get, "/v1/audit?action=webhook.disabled", key: auditor).object()
            let events = try #require(audit["data"] as? [[String: Any]])
            #expect(events.count == 1)
            #expect((events.first?["target"] as? [String: Any])?["id"] as? String == hook.id)

            // The failed delivery is not retried, and a new test delivery is not sent.
            let log = try await log(client, test.adminKey, hook)
            #expect(log.first?.status == "failed")
            _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
            test.clock.advance(by: 3600)
            _ = try await dispatcher.dispatchDue()
            try await Task.sleep(for: .milliseconds(300))
            #expect(try receiver.deliveries().count == 1)
        }
    }

    @Test("After a secret rotation both secrets sign for 24 hours, then only the new one")
    func rotationOverlap() async throws {
        try await withReceiverApp { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", topics: ["token.permission.changed"])
            let rotated = try await client.send(.post, "/v1/webhooks/\(hook.id)/rotate-secret", key: test.adminKey)
            #expect(rotated.status == .ok, "\(rotated.text)")
            let newSecret = try #require(try rotated.decode(WebhookResponse.self).secret)
            let oldSecret = try #require(hook.secret)
            #expect(newSecret != oldSecret)
            let receiver = try await startReceiver([oldSecret, newSecret])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)

            _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
            #expect(try await dispatcher.dispatchDue() == 1)
            let during = try await receiver.waitForDeliveries(1)[0]
            #expect(during.signatures == 2)
            #expect(during.verified == [true, true], "standardwebhooks verifies under the old and under the new secret")

            test.clock.advance(by: 86_401)
            _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
            #expect(try await dispatcher.dispatchDue() == 1)
            let after = try await receiver.waitForDeliveries(2)[1]
            #expect(after.signatures == 1)
            // A day later than the real clock, so checked for the signature alone (the timestamp is out of tolerance).
            #expect(after.signed == [false, true])
        }
    }

    @Test("A receiver's Retry-After pushes the next attempt later than the schedule")
    func retryAfterHonoured() async throws {
        try await withReceiverApp(statuses: [429, 200], retryAfter: "90") { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", topics: ["token.permission.changed"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
            #expect(try await dispatcher.dispatchDue() == 1)
            try await receiver.waitForDeliveries(1)
            test.clock.advance(by: 30)
            #expect(try await dispatcher.dispatchDue() == 0, "the schedule's 5 s is overridden by Retry-After: 90")
            test.clock.advance(by: 61)
            #expect(try await dispatcher.dispatchDue() == 1)
            let deliveries = try await receiver.waitForDeliveries(2)
            #expect(deliveries.map(\.status) == [429, 200])
            #expect(deliveries[0].id == deliveries[1].id)
        }
    }
}

extension WebhookDeliveryTests {
    @Test("Changing a key's token binding sends token.permission.changed; a rename or a refused change sends nothing")
    func permissionChanged() async throws {
        try await withReceiverApp { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", topics: ["token.permission.changed"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            let writer = try await test.key([.tokensWrite])
            for slug in ["aws-prod", "gcp-prod"] {
                _ = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "\#(slug)", "secret": "\#(Self.seed)"}"#)
            }
            let created = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"], "token_slugs": ["aws-prod"]}"#)
            let key = try created.decode(KeyResponse.self)

            let renamed = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"name": "ci-runners"}"#)
            #expect(renamed.status == .ok)
            let refused = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"token_slugs": ["gcp-prod"], "allowed_cidrs": ["10.0.0.0/33"]}"#)
            #expect(refused.status == .unprocessableContent)
            #expect(try await dispatcher.dispatchDue() == 0, "nothing for a rename, nothing for a change that was refused")

            let rebound = try await client.send(.patch, "/v1/keys/\(key.id)", key: test.adminKey, json: #"{"token_slugs": ["gcp-prod", "aws-prod"]}"#)
            #expect(rebound.status == .ok)
            #expect(try await dispatcher.dispatchDue() == 1)
            let delivery = try await receiver.waitForDeliveries(1)[0]
            #expect(delivery.type == "token.permission.changed")
            #expect(delivery.verified == [true])
            let data = try delivery.object()
            #expect((data["key"] as? [String: Any])?["id"] as? String == key.id)
            #expect((data["previous"] as? [String: Any])?["token_slugs"] as? [String] == ["aws-prod"])
            #expect((data["current"] as? [String: Any])?["token_slugs"] as? [String] == ["aws-prod", "gcp-prod"])
            #expect((data["current"] as? [String: Any])?["scopes"] as? [String] == ["tokens:code"])
            #expect(data["changed_by"] != nil)
        }
    }
}

extension WebhookDeliveryTests {
    @Test("An inbound SMS is delivered as sms.inbound with its code")
    func smsInbound() async throws {
        try await withReceiverApp { test, client, dispatcher, startReceiver in
            let hook = try await register(client, test.adminKey, url: "http://127.0.0.1:9/none", topics: ["sms.inbound"])
            let receiver = try await startReceiver([try #require(hook.secret)])
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "\#(receiver.url)"}"#)
            let inbox = try await client.send(.post, "/v1/inboxes", key: test.adminKey, json: #"{"phone_number": "+15552220000", "provider": "simulator"}"#).decode(InboxResponse.self)
            let message = try await client.send(.post, "/v1/inboxes/\(inbox.id)/simulate", key: test.adminKey, json: #"{"from": "+15550001111", "body": "Your code is 482913"}"#).decode(SMSMessageResponse.self)
            #expect(try await dispatcher.dispatchDue() == 1)
            let delivery = try await receiver.waitForDeliveries(1)[0]
            #expect(delivery.type == "sms.inbound")
            #expect(delivery.verified == [true])
            let data = try delivery.object()
            #expect(data["id"] as? String == message.id)
            #expect(data["inbox_id"] as? String == inbox.id)
            #expect(data["code"] as? String == "482913")
            #expect(data["body"] as? String == "Your code is 482913")
            // The outbox never held the body: it stays sealed in the message's row until the attempt opens it.
            let organizationID = test.organization.id
            let stored = try await test.runtime.storage.read { session in
                try await session.webhooks.deliveries(endpointID: hook.id, organizationID: organizationID, after: nil, limit: 10)
            }
            #expect(stored.count == 1)
            #expect(stored.allSatisfy { !$0.0.data.contains("482913") && $0.0.data.contains(message.id) })
        }
    }

    @Test("A delivery whose endpoint is gone (queued as another server deleted it) is swept, with its attempts, by the retention service; nothing else is")
    func orphansSwept() async throws {
        try await withTestRuntime(clock: ManualClock(Date().addingTimeInterval(-180))) { test in
            try await test.withApp { client in
                // Two endpoints on a closed port: each test delivery gets one failed attempt and stays pending.
                let kept = try await register(client, test.adminKey, url: "http://127.0.0.1:9/kept", topics: ["token.permission.changed"])
                let gone = try await register(client, test.adminKey, url: "http://127.0.0.1:9/gone", topics: ["token.permission.changed"])
                let leased = try await register(client, test.adminKey, url: "http://127.0.0.1:9/leased", topics: ["token.permission.changed"])
                for hook in [kept, gone, leased] {
                    #expect(try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey).status == .accepted)
                }
                #expect(try await WebhookTests.dispatcher(test).dispatchDue() == 3)
                let keptID = try #require(try await log(client, test.adminKey, kept).first?.id)
                let orphanID = try #require(try await log(client, test.adminKey, gone).first?.id)
                let leasedID = try #require(try await log(client, test.adminKey, leased).first?.id)
                // What the race leaves: the endpoint's row gone, its delivery and attempt still there; one of them
                // leased now (a dispatcher at it), which the sweep leaves for its lease to end.
                try await test.execute("DELETE FROM webhook_endpoints WHERE id IN ('\(gone.id)', '\(leased.id)')")
                try await test.execute("UPDATE webhook_deliveries SET lease_until = \(Int64(test.clock.now().timeIntervalSince1970) + 3600) WHERE id = '\(leasedID)'")
                let organizationID = test.organization.id
                let stored = { @Sendable (id: String) async throws -> Bool in
                    try await test.runtime.storage.read { session in try await session.webhooks.findDelivery(id: id, organizationID: organizationID) } != nil
                }
                #expect(try await stored(orphanID))
                // A statement that fails while the orphan has an attempt row (a NULL into a NOT NULL column per row).
                try await test.execute("CREATE TABLE probe (x INTEGER NOT NULL)")
                let probe = "INSERT INTO probe SELECT NULL FROM webhook_attempts WHERE delivery_id = '\(orphanID)'"
                await #expect(throws: (any Error).self) { try await test.execute(probe) }

                let retention = RetentionService(
                    audit: test.runtime.audit, retentionDays: nil, idempotency: test.runtime.idempotency, webhooks: test.runtime.webhooks,
                    clock: test.clock, logger: Logger(label: "kaito-test"))
                let sweeping = Task { try await retention.run() }
                defer { sweeping.cancel() }
                try await waitUntil("the retention service swept the orphan") { try await !stored(orphanID) }
                #expect(try await stored(keptID))
                #expect(try await stored(leasedID), "a leased delivery waits for its lease to end")
                #expect(try await log(client, test.adminKey, kept).first?.attempts.count == 1, "the kept delivery keeps its attempt")
                // The orphan's attempt went with it.
                try await test.execute(probe)
                #expect(try await test.runtime.webhooks.sweepOrphanDeliveries() == 0)
            }
        }
    }

}

/// The receivers a test started, stopped when it ends.
final class Receivers: @unchecked Sendable {
    private let lock = NSLock()
    private var started: [WebhookReceiver] = []

    func add(_ receiver: WebhookReceiver) { lock.withLock { started.append(receiver) } }
    func stopAll() { lock.withLock { started.forEach { $0.stop() }; started = [] } }
}
