import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The client commands against a live server: their output, `--json`, exit codes and `--retry`.
@Suite("End to end: the kaito client commands", .serialized)
struct CLITests {
    @Test("tokens list and keys list, human and --json; --retry waits out a 429, without it the exit code is 5")
    func listsAndRetry() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:read", "tokens:code"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            for slug in ["aws-prod", "gcp-prod"] {
                _ = try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "\#(slug)", "secret": "JBSWY3DPEHPK3PXP"}"#)
            }
            let kaito = try ServerProcess.executable
            let environment = ["KAITO_URL": server.url, "KAITO_KEY": key]

            let tokens = try run(kaito, ["tokens", "list"], environment: environment)
            #expect(tokens.status == 0, "\(tokens.error)")
            #expect(tokens.output == "aws-prod\tSHA1\t6\t30\ngcp-prod\tSHA1\t6\t30\n")
            let json = try run(kaito, ["tokens", "list", "--json"], environment: environment)
            let decoded = try JSONDecoder().decode([TokenResponse].self, from: Data(json.output.utf8))
            #expect(decoded.map(\.slug) == ["aws-prod", "gcp-prod"])
            #expect(try run(kaito, ["keys", "list"], environment: environment).status == 3, "keys need org:admin")
            let keys = try run(kaito, ["keys", "list", "--json"], environment: ["KAITO_URL": server.url, "KAITO_KEY": admin])
            #expect(try JSONDecoder().decode([KeyResponse].self, from: Data(keys.output.utf8)).count == 2)
            #expect(!keys.output.contains(key), "listings never show a key")

            // Inboxes, messages and webhooks.
            let adminEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": admin]
            let inbox = try JSONDecoder().decode(InboxResponse.self, from: try await request(
                http, .POST, server.url + "/v1/inboxes", key: admin, body: #"{"phone_number": "+15552220000", "provider": "simulator", "label": "QA"}"#).body)
            #expect(try run(kaito, ["sms", "simulate", "--inbox", inbox.id, "--from", "+15550001111", "--body", "Your code is 482913"], environment: adminEnvironment).status == 0)
            let inboxes = try run(kaito, ["inboxes", "list"], environment: adminEnvironment)
            #expect(inboxes.output == "\(inbox.id)\t+15552220000\tsimulator\tQA\n", "\(inboxes.error)")
            let readerMade = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "qa", "scopes": ["sms:read"]}"#)
            let reader = try #require(try JSONDecoder().decode(KeyResponse.self, from: readerMade.body).key)
            let messages = try run(kaito, ["sms", "messages", "--inbox", inbox.id, "--json"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader])
            let listed = try JSONDecoder().decode([SMSMessageResponse].self, from: Data(messages.output.utf8))
            #expect(listed.map(\.code) == ["482913"])
            #expect(try run(kaito, ["sms", "messages", "--limit", "0"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader]).status == 2)
            _ = try await request(http, .POST, server.url + "/v1/webhooks", key: admin, body: #"{"url": "https://93.184.216.34/kaito", "topics": ["sms.inbound"]}"#)
            let hooks = try run(kaito, ["webhook", "list"], environment: adminEnvironment)
            #expect(hooks.output.hasSuffix("\tenabled\tsms.inbound\thttps://93.184.216.34/kaito\n"), "\(hooks.output) \(hooks.error)")
            #expect(try run(kaito, ["webhook", "list"], environment: ["KAITO_URL": server.url, "KAITO_KEY": reader]).status == 3)

            // A key allowed 6 codes a minute (Enterprise): after its burst, Retry-After is about 10 s.
            #expect(try run(kaito, ["admin", "set-plan", "default", "enterprise", "--data-dir", server.directory.path]).status == 0)
            let slowMade = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "slow", "scopes": ["tokens:code"], "rate_limits": {"code": 6}}"#)
            let slow = try #require(try JSONDecoder().decode(KeyResponse.self, from: slowMade.body).key)
            for _ in 0..<6 { #expect(try await request(http, .GET, server.url + "/v1/tokens/aws-prod/code", key: slow).status == 200) }
            let slowEnvironment = ["KAITO_URL": server.url, "KAITO_KEY": slow]
            let limited = try run(kaito, ["code", "aws-prod"], environment: slowEnvironment)
            #expect(limited.status == 5, "\(limited.error)")
            #expect(limited.error.contains("rate_limited"))
            let impatient = try run(kaito, ["code", "aws-prod", "--retry", "--max-wait", "2"], environment: slowEnvironment)
            #expect(impatient.status == 5, "Retry-After is beyond --max-wait")
            let started = Date()
            let retried = try run(kaito, ["code", "aws-prod", "--retry", "--max-wait", "30"], environment: slowEnvironment)
            #expect(retried.status == 0, "\(retried.error)")
            #expect(retried.output.trimmingCharacters(in: .newlines).count == 6)
            #expect(Date().timeIntervalSince(started) > 2, "it waited for Retry-After")
        } catch {
            try? await http.shutdown()
            _ = server.stop()
            throw error
        }
        try await http.shutdown()
        #expect(server.stop() == 0)
    }
}
