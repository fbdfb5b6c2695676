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
struct HostileWebhookInputTests {
    static let hostileURLs = [
        "http://127.0.0.1:9/a\r\nX-Evil: 1", "http://127.0.0.1:9/a\nb", "http://127.0.0.1:9/a\rb", "http://127.0.0.1:9/a b",
        "http://127.0.0.1:9/\t", " http://127.0.0.1:9/", "http://127.0.0.1:9/ ", "http://127.0.0.1:9/\u{0}", "http://127.0.0.1:9/\u{1B}",
        "http://127.0.0.1:9/\u{7F}", "http://127.0.0.1:9/\u{85}", "http://127.0.0.1:9/\u{2028}", "http://127.0.0.1:9/\"q\"",
        "http://127.0.0.1:9/'q'", "http://127.0.0.1:9/<b>", "http://127.0.0.1:9/a\\b", "http://127.0.0.1:9/ä", "http://exämple.com/",
        "http://user:pass@127.0.0.1:9/", "http://user@127.0.0.1:9/", "http://127.0.0.1:9/#fragment", "http://127.0.0.1:9/%zz",
        "http://[fe80::1%25eth0]:9/", "http://[::127.0.0.1]/h", "http://[2002:7f00:1::]/h", "http://[64:ff9b:1::1]/h",
        "http://[2001::1]/h", "http://[64:ff9b::127.0.0.2]/h", "http://[::ffff:0:127.0.0.2]/h", "http://203.0.113.9/h",
    ]

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func urls(_ client: any TestClientProtocol, _ admin: String) async throws -> [String] {
        try await client.send(.get, "/v1/webhooks", key: admin).decode(ListResponse<WebhookResponse>.self).data.map(\.url)
    }

    @Test("POST /v1/webhooks refuses every hostile URL with 422 naming url, and stores nothing", arguments: hostileURLs)
    func hostileCreate(url: String) async throws {
        try await withTestApp { test, client in
            let body = try Self.json(["url": url, "topics": ["audit.event"]])
            let response = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: body)
            #expect(response.status == .unprocessableContent, "\(url.debugDescription): \(response.text)")
            let problem = try response.problem()
            #expect(problem.errors?.first?.field == "url")
            #expect(try await urls(client, test.adminKey).isEmpty)
        }
    }

    @Test("PATCH /v1/webhooks/{id} refuses every hostile URL with 422 naming url, and leaves the endpoint as it was", arguments: hostileURLs)
    func hostileUpdate(url: String) async throws {
        try await withTestApp { test, client in
            let created = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/h", "topics": ["audit.event"]}"#)
            let hook = try created.decode(WebhookResponse.self)
            let response = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: try Self.json(["url": url]))
            #expect(response.status == .unprocessableContent, "\(url.debugDescription): \(response.text)")
            #expect(try response.problem().errors?.first?.field == "url")
            #expect(try await urls(client, test.adminKey) == ["http://127.0.0.1:9/h"])
        }
    }

    @Test("The dashboard's webhook form refuses every hostile URL with 422, and stores nothing")
    func hostileDashboardForm() async throws {
        try await withTestApp(clock: ManualClock(Date())) { test, client in
            _ = try await DashboardTests.user(test, "erin@example.com", role: "admin")
            let admin = DashboardTests.Browser(client)
            try await DashboardTests.signIn(admin, "erin@example.com", clock: test.clock)
            _ = try await admin.get("/webhooks")
            for url in Self.hostileURLs {
                let response = try await admin.post("/webhooks", [("url", url), ("topic", "audit.event")])
                #expect(response.status == .unprocessableContent, "\(url.debugDescription)")
            }
            #expect(try await urls(client, test.adminKey).isEmpty)
        }
    }

    @Test("Good URLs are stored normalised, by POST and by PATCH", arguments: [
        ("HTTP://127.0.0.1:9/Hook?A=B", "http://127.0.0.1:9/Hook?A=B"), ("http://127.0.0.1:80/h", "http://127.0.0.1/h"),
        ("https://127.0.0.1:443", "https://127.0.0.1/"), ("https://127.0.0.1:80/h%20x", "https://127.0.0.1:80/h%20x"),
    ])
    func normalised(url: String, stored: String) async throws {
        try await withTestApp { test, client in
            let created = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: try Self.json(["url": url, "topics": ["audit.event"]]))
            #expect(created.status == .created, "\(created.text)")
            let hook = try created.decode(WebhookResponse.self)
            #expect(hook.url == stored)
            _ = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: #"{"url": "http://127.0.0.1:9/other"}"#)
            let patched = try await client.send(.patch, "/v1/webhooks/\(hook.id)", key: test.adminKey, json: try Self.json(["url": url]))
            #expect(try patched.decode(WebhookResponse.self).url == stored)
            #expect(try await urls(client, test.adminKey) == [stored])
        }
    }
}

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

    @Test("Any answer a receiver sends is an attempt's outcome, never a crash: 0xx and 1xx-only status lines, garbage, nothing", arguments: [
        "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 001 X\r\n\r\n",
        "HTTP/1.1 050 X\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 103 Early Hints\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", "HTTP/1.1 600 X\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 abc X\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.0 200 OK\r\n\r\n",
        "garbage\r\n\r\n", "", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ])
    func hostileAnswers(answer: String) async throws {
        try await withTestRuntime(clock: ManualClock(Date())) { test in
            try await test.withApp { client in
                let receiver = try SlowReceiver(answer: Array(answer.utf8))
                defer { receiver.stop() }
                let hook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "\#(receiver.url)", "topics": ["token.permission.changed"]}"#).decode(WebhookResponse.self)
                _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
                #expect(try await WebhookTests.dispatcher(test).dispatchDue() == 1)
                let delivery = try #require(try await deliveries(client, test.adminKey, hook).first)
                let attempt = try #require(delivery.attempts.first, "the attempt was recorded")
                // Only a real 2xx is a success; a 200 over HTTP/1.0 is one too.
                let succeeded = answer.hasPrefix("HTTP/1.0 200")
                #expect(delivery.status == (succeeded ? "succeeded" : "pending"), "\(answer.debugDescription): \(delivery.status) \(attempt.statusCode.map(String.init) ?? attempt.error ?? "-")")
                #expect(receiver.connections >= 1)
            }
        }
    }

    @Test("An https receiver is held to its certificate: a self-signed one fails the attempt, and nothing reaches it")
    func tlsCertificateChecked() async throws {
        let receiver = try await HelperProcess.start(script: "tls_receiver.py", arguments: [])
        defer { receiver.stop() }
        try await withTestRuntime(clock: ManualClock(Date())) { test in
            try await test.withApp { client in
                let hook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "https://127.0.0.1:\#(receiver.port)/h", "topics": ["token.permission.changed"]}"#).decode(WebhookResponse.self)
                _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
                #expect(try await WebhookTests.dispatcher(test).dispatchDue() == 1)
                let delivery = try #require(try await deliveries(client, test.adminKey, hook).first)
                #expect(delivery.status == "pending")
                #expect(delivery.attempts.first?.statusCode == nil)
                #expect(delivery.attempts.first?.error?.hasPrefix("no answer") == true, "\(delivery.attempts)")
                #expect(receiver.lines().isEmpty, "the receiver got the delivery over an unchecked connection")
            }
        }
    }

    @Test("A receiver that trickles its answer holds one slot: another endpoint is delivered meanwhile, and the slow attempt fails at the deadline")
    func slowReceiver() async throws {
        let slow = try SlowReceiver(interval: 1)
        defer { slow.stop() }
        try await withTestRuntime(clock: ManualClock(Date().addingTimeInterval(-180))) { test in
            try await test.withApp { client in
                let slowHook = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "\#(slow.url)", "topics": ["token.permission.changed"]}"#)
                    .decode(WebhookResponse.self)
                let (fastHook, fast) = try await receiverHook(test, client)
                defer { fast.stop() }
                let deadline = Duration.seconds(4)
                let dispatcher = WebhookTests.dispatcher(test, timeout: deadline)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await dispatcher.run() }
                    _ = try await client.send(.post, "/v1/webhooks/\(slowHook.id)/test", key: test.adminKey)
                    try await slow.waitForConnections(1)

                    _ = try await client.send(.post, "/v1/webhooks/\(fastHook.id)/test", key: test.adminKey)
                    try await fast.waitForDeliveries(1, timeout: .seconds(20))
                    #expect(try await deliveries(client, test.adminKey, slowHook).first?.attempts.isEmpty == true,
                            "the other endpoint was delivered while the slow one was still in flight")

                    let started = ContinuousClock.now
                    var attempt: WebhookDeliveryResponse.Attempt?
                    while attempt == nil, ContinuousClock.now - started < .seconds(20) {
                        attempt = try await deliveries(client, test.adminKey, slowHook).first?.attempts.first
                        if attempt == nil { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    let failed = try #require(attempt, "the slow attempt ends")
                    #expect(failed.statusCode == nil)
                    #expect(failed.error?.contains("no answer") == true, "\(failed.error ?? "-")")
                    #expect(failed.latencyMS >= 3_500 && failed.latencyMS <= 6_500, "\(failed.latencyMS) ms for a 4 s deadline")
                    #expect(try await deliveries(client, test.adminKey, slowHook).first?.status == "pending", "retried later")
                    #expect(slow.connections == 1)
                    while slow.closedByClient == 0, ContinuousClock.now - started < .seconds(20) { try await Task.sleep(for: .milliseconds(50)) }
                    #expect(slow.closedByClient == 1, "the slow connection is closed, not left trickling")
                    group.cancelAll()
                }
            }
        }
    }
}
