import Foundation
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import KaitoWorkers
import Logging
import NIOConcurrencyHelpers
import Testing

@Suite("Webhooks (docs/api.md#webhooks)", .serialized)
struct WebhookTests {
    static let secret = "JBSWY3DPEHPK3PXP"

    static func dispatcher(
        _ test: TestRuntime, resolver: (any HostResolver)? = nil, timeout: Duration = WebhookDispatcher.defaultTimeout,
        pollInterval: Duration = .milliseconds(50)
    ) -> WebhookDispatcher {
        var logger = Logger(label: "kaito-test")
        logger.logLevel = .warning
        return WebhookDispatcher(
            work: test.runtime.work, keyring: test.runtime.keyring, clock: test.clock, random: test.runtime.random,
            policy: test.runtime.webhookPolicy, resolver: resolver ?? test.runtime.resolver, logger: logger,
            pollInterval: pollInterval, timeout: timeout)
    }

    func register(_ client: any TestClientProtocol, _ admin: String, url: String, topics: [String] = ["audit.event"], actions: [String] = []) async throws -> WebhookResponse {
        let topicList = topics.map { "\"\($0)\"" }.joined(separator: ",")
        let actionList = actions.map { "\"\($0)\"" }.joined(separator: ",")
        let response = try await client.send(.post, "/v1/webhooks", key: admin, json: #"{"url": "\#(url)", "topics": [\#(topicList)], "audit_actions": [\#(actionList)], "description": "bot"}"#)
        #expect(response.status == .created, "\(response.text)")
        return try response.decode(WebhookResponse.self)
    }

    @Test("Registration refuses every private address class", arguments: [
        "http://10.0.0.1/h", "http://172.16.5.4/h", "http://192.168.1.1/h", "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/h", "http://127.0.0.2/h", "http://[::1]/h", "http://[fd00::1]/h", "http://[fe80::1]/h",
        "http://[::ffff:10.0.0.1]/h", "http://224.0.0.1/h", "http://0.0.0.0/h",
        "ftp://example.com/h", "http://user:pw@example.com/h", "not a url",
    ])
    func ssrfAtRegistration(url: String) async throws {
        try await withTestApp { test, client in
            let response = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: #"{"url": "\#(url)", "topics": ["audit.event"]}"#)
            #expect(response.status == .unprocessableContent)
            #expect(try response.problem().errors?.first?.field == "url")
        }
    }

    @Test("A host that resolves to a public address at registration and a refused one at delivery is refused at delivery", arguments: [
        "10.0.0.7", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "127.0.0.2", "::1", "fd00::1", "fe80::1",
        "::ffff:10.0.0.1", "224.0.0.1", "0.0.0.0",
    ])
    func rebinding(address: String) async throws {
        let resolver = ScriptedResolver(answers: ["hooks.example": ["93.184.216.34"]])
        try await withTestRuntime(clock: ManualClock(Date()), resolver: resolver) { test in
            try await test.withApp { client in
                // Subscribed to a topic no test action emits, so that only the test delivery is due.
                let hook = try await register(client, test.adminKey, url: "http://hooks.example/h", topics: ["token.permission.changed"])
                resolver.set("hooks.example", [address])
                _ = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: test.adminKey)
                #expect(try await Self.dispatcher(test, resolver: resolver).dispatchDue() == 1)
                let log = try await client.send(.get, "/v1/webhooks/\(hook.id)/deliveries", key: test.adminKey).decode(ListResponse<WebhookDeliveryResponse>.self)
                let attempt = try #require(log.data.first?.attempts.first)
                #expect(attempt.statusCode == nil)
                #expect(attempt.error?.contains("refused") == true, "\(attempt.error ?? "-")")
                #expect(log.data.first?.status == "pending")
            }
        }
    }

    @Test("Validation of endpoints")
    func validation() async throws {
        try await withTestApp { test, client in
            for (body, field) in [
                (#"{"topics": ["audit.event"]}"#, "url"),
                (#"{"url": "http://127.0.0.1:9/h", "topics": []}"#, "topics"),
                (#"{"url": "http://127.0.0.1:9/h", "topics": ["audit.event"], "audit_actions": ["token%"]}"#, "audit_actions[0]"),
            ] {
                let response = try await client.send(.post, "/v1/webhooks", key: test.adminKey, json: body)
                #expect(response.status == .unprocessableContent)
                #expect(try response.problem().errors?.first?.field == field)
            }
        }
    }
}

/// A resolver whose answers a test changes between registration and delivery.
final class ScriptedResolver: HostResolver, @unchecked Sendable {
    private let answers: NIOLockedValueBox<[String: [String]]>

    init(answers: [String: [String]]) { self.answers = NIOLockedValueBox(answers) }

    func set(_ host: String, _ addresses: [String]) { answers.withLockedValue { $0[host] = addresses } }

    func resolve(_ host: String) async throws -> [IPAddress] {
        if let literal = IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) { return [literal] }
        guard let addresses = answers.withLockedValue({ $0[host] }) else { throw KaitoError.validation("url", "unknown host") }
        return addresses.compactMap(IPAddress.init)
    }
}
