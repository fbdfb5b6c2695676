import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// Webhooks from the real executable: at-least-once across a crash, and `kaito webhook verify` against deliveries
/// signed by the `standardwebhooks` package.
@Suite("End to end: webhooks", .serialized)
struct WebhookEndToEndTests {
    @Test("A delivery pending when the server is killed with SIGKILL arrives after a restart, with the same webhook-id")
    func deliveryAfterCrash() async throws {
        let admin = TestDatabase.postgresAdminURL
        let databaseURL = try await admin.asyncMap { try await TestDatabase.createDatabase(adminURL: $0) }
        let environment = ["KAITO_WEBHOOK_ALLOW_PRIVATE": "127.0.0.1/32"]
        let first = try await ServerProcess.start(databaseURL: databaseURL, environment: environment)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        var receiver: WebhookReceiver?
        var second: ServerProcess?
        do {
            let adminKey = try String(contentsOfFile: first.directory.path + "/bootstrap-admin.key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let registered = try await request(http, .POST, first.url + "/v1/webhooks", key: adminKey,
                body: #"{"url": "http://127.0.0.1:9/none", "topics": ["audit.event"], "audit_actions": ["token.*"]}"#)
            #expect(registered.status == 201)
            let hook = try JSONDecoder().decode(WebhookResponse.self, from: registered.body)
            // The first attempt fails, so the delivery is pending its retry when the server dies.
            let started = try await WebhookReceiver.start(secrets: [try #require(hook.secret)], statuses: [500, 200])
            receiver = started
            let patched = try await request(http, .PATCH, first.url + "/v1/webhooks/\(hook.id)", key: adminKey, body: #"{"url": "\#(started.url)"}"#)
            #expect(patched.status == 200)
            let writer = try await request(http, .POST, first.url + "/v1/keys", key: adminKey, body: #"{"name": "setup", "scopes": ["tokens:write"]}"#)
            let writerKey = try #require(try JSONDecoder().decode(KeyResponse.self, from: writer.body).key)
            let created = try await request(http, .POST, first.url + "/v1/tokens", key: writerKey, body: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#)
            #expect(created.status == 201)
            let failed = try await started.waitForDeliveries(1)
            #expect(failed[0].status == 500)
            // Killed once the failed attempt is recorded, so that the delivery is pending its retry. (One killed while
            // its attempt is in flight stays leased for 60 s and is then claimed again; too slow for this test.)
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                let log = try await request(http, .GET, first.url + "/v1/webhooks/\(hook.id)/deliveries", key: adminKey)
                let entries = try JSONDecoder().decode(ListResponse<WebhookDeliveryResponse>.self, from: log.body).data
                if entries.first?.attempts.count == 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }

            first.kill()
            #expect(first.process.poll() == .signalled(SIGKILL))
            second = try await ServerProcess.start(databaseURL: databaseURL, environment: environment, directory: first.directory)
            let deliveries = try await started.waitForDeliveries(2, timeout: .seconds(30))
            #expect(deliveries.count == 2)
            #expect(deliveries[1].id == deliveries[0].id, "the same webhook-id after the restart")
            #expect(deliveries[1].status == 200)
            #expect(deliveries.allSatisfy { $0.verified == [true] })
            #expect(deliveries[1].type == "audit.event")
            #expect(try deliveries[1].object()["action"] as? String == "token.create")

            // The receiver has the attempt before the server has recorded its answer: read the log until it has.
            var entries: [WebhookDeliveryResponse] = []
            let recorded = ContinuousClock.now + .seconds(20)
            repeat {
                let log = try await request(http, .GET, second!.url + "/v1/webhooks/\(hook.id)/deliveries", key: adminKey)
                entries = try JSONDecoder().decode(ListResponse<WebhookDeliveryResponse>.self, from: log.body).data
                if entries.first?.attempts.count == 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            } while ContinuousClock.now < recorded
            #expect(entries.count == 1)
            #expect(entries.first?.status == "succeeded")
            #expect(entries.first?.attempts.map(\.statusCode) == [500, 200])
        } catch {
            try? await http.shutdown()
            receiver?.stop()
            _ = second?.stop()
            if first.process.isRunning { _ = first.stop() }
            first.directory.remove()
            throw error
        }
        try await http.shutdown()
        receiver?.stop()
        #expect(second?.stop() == 0)
        first.directory.remove()
        if let admin, let databaseURL { await TestDatabase.dropDatabase(url: databaseURL, adminURL: admin) }
    }

    /// A delivery signed by the `standardwebhooks` package (not by Kaito), as raw HTTP headers and body.
    func signedByStandardWebhooks(secret: String, id: String, body: String, age: Int = 0) async throws -> Data {
        let script = """
            import sys, time
            from datetime import datetime, timezone
            from standardwebhooks.webhooks import Webhook
            secret, msg_id, body, age = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
            ts = int(time.time()) - age
            sig = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body)
            sys.stdout.write(f"POST /hook HTTP/1.1\\r\\nContent-Type: application/json\\r\\nwebhook-id: {msg_id}\\r\\nwebhook-timestamp: {ts}\\r\\nwebhook-signature: v1,AAAA {sig}\\r\\n\\r\\n{body}")
            """
        let result = try await run(python, ["-c", script, secret, id, body, String(age)])
        guard result.status == 0 else { throw Failure("standardwebhooks failed (run scripts/test, which installs it): \(result.error)") }
        return Data(result.output.utf8)
    }

    @Test("kaito webhook verify accepts a delivery that standardwebhooks signed and refuses tampered, stale or foreign ones")
    func verifyCommand() async throws {
        let kaito = try ServerProcess.executable
        let secret = WebhookSecret.generate(random: SystemRandomSource()).text
        let other = WebhookSecret.generate(random: SystemRandomSource()).text
        let body = #"{"data":{"action":"token.seed.read"},"timestamp":"2026-11-29T05:00:00Z","type":"audit.event"}"#
        let message = try await signedByStandardWebhooks(secret: secret, id: "msg_e2e", body: body)

        let valid = try await run(kaito, ["webhook", "verify", "--secret", secret], input: message)
        #expect(valid.status == 0, "\(valid.error)")
        #expect(valid.output.trimmingCharacters(in: .newlines) == body)

        let json = try await run(kaito, ["webhook", "verify", "--secret", other, "--secret", secret, "--json"], input: message)
        #expect(json.status == 0, "\(json.error)")
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(object?["valid"] as? Bool == true)
        #expect(object?["id"] as? String == "msg_e2e")
        #expect((object?["payload"] as? [String: Any])?["type"] as? String == "audit.event")

        let tampered = Data(String(decoding: message, as: UTF8.self).replacingOccurrences(of: "token.seed.read", with: "token.code.read").utf8)
        let refused = try await run(kaito, ["webhook", "verify", "--secret", secret], input: tampered)
        #expect(refused.status == 3)
        #expect(refused.output.isEmpty, "nothing unverified is printed")

        #expect(try await run(kaito, ["webhook", "verify", "--secret", other], input: message).status == 3)
        let stale = try await signedByStandardWebhooks(secret: secret, id: "msg_old", body: body, age: 600)
        let staleResult = try await run(kaito, ["webhook", "verify", "--secret", secret], input: stale)
        #expect(staleResult.status == 3)
        #expect(staleResult.error.contains("600 s old") || staleResult.error.contains("601 s old"), "\(staleResult.error)")
        #expect(try await run(kaito, ["webhook", "verify", "--secret", secret, "--tolerance", "0"], input: stale).status == 0)

        #expect(try await run(kaito, ["webhook", "verify", "--secret", secret], input: Data(body.utf8)).status == 2, "no headers")
        #expect(try await run(kaito, ["webhook", "verify", "--secret", "not-a-secret"], input: message).status == 2)
    }
}
