import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// `kaito sms wait` and `kaito sms simulate` against the real executable.
@Suite("End to end: SMS from the command line", .serialized)
struct SMSEndToEndTests {
    @Test("kaito sms wait prints the code of the message that kaito sms simulate delivers while it waits")
    func waitAndSimulate() async throws {
        let admin = TestDatabase.postgresAdminURL
        let databaseURL = try await admin.asyncMap { try await TestDatabase.createDatabase(adminURL: $0) }
        let server = try await ServerProcess.start(databaseURL: databaseURL)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let adminKey = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let created = try await request(http, .POST, server.url + "/v1/inboxes", key: adminKey, body: #"{"phone_number": "+15552220000", "provider": "simulator"}"#)
            let inbox = try JSONDecoder().decode(InboxResponse.self, from: created.body)
            let reader = try await request(http, .POST, server.url + "/v1/keys", key: adminKey, body: #"{"name": "qa", "scopes": ["sms:read"]}"#)
            let readerKey = try #require(try JSONDecoder().decode(KeyResponse.self, from: reader.body).key)
            let kaito = try ServerProcess.executable

            // A message from before the wait is not the one it waits for.
            let old = try await run(kaito, ["sms", "simulate", "--inbox", inbox.id, "--from", "+15550001111", "--body", "Your code is 111111"],
                              environment: ["KAITO_URL": server.url, "KAITO_KEY": adminKey])
            #expect(old.status == 0, "\(old.error)")
            #expect(old.output.hasPrefix("sms_"))

            let output = TemporaryFileOutput()
            let waiting = try ChildProcess(
                kaito.path, ["sms", "wait", "--inbox", inbox.id, "--timeout", "30"],
                environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KAITO_") }
                    .merging(["KAITO_URL": server.url, "KAITO_KEY": readerKey]) { $1 },
                stdout: .file(output.path))
            try await Task.sleep(for: .seconds(1))
            let sent = try await run(kaito, ["sms", "simulate", "--inbox", inbox.id, "--from", "+15550001111", "--body", "G-482913 is your Google verification code."],
                               environment: ["KAITO_URL": server.url, "KAITO_KEY": adminKey])
            #expect(sent.status == 0, "\(sent.error)")
            #expect(try await waiting.exit(within: .seconds(20)) == .exited(0))
            #expect(output.text.trimmingCharacters(in: .whitespacesAndNewlines) == "482913")

            // Nothing arrives: exit 1 after the timeout; a key without sms:read: exit 3.
            let quiet = try await run(kaito, ["sms", "wait", "--inbox", inbox.id, "--timeout", "1"], environment: ["KAITO_URL": server.url, "KAITO_KEY": readerKey])
            #expect(quiet.status == 1)
            #expect(quiet.error.contains("no message"))
            let denied = try await run(kaito, ["sms", "wait", "--inbox", inbox.id, "--timeout", "1"], environment: ["KAITO_URL": server.url, "KAITO_KEY": adminKey])
            #expect(denied.status == 3, "\(denied.error)")
            let missing = try await run(kaito, ["sms", "wait", "--inbox", "inb_01AAAAAAAAAAAAAAAAAAAAAAAA", "--timeout", "1"], environment: ["KAITO_URL": server.url, "KAITO_KEY": readerKey])
            #expect(missing.status == 4, "\(missing.error)")
            output.remove()
        } catch {
            try? await http.shutdown()
            _ = server.stop()
            server.directory.remove()
            throw error
        }
        try await http.shutdown()
        #expect(server.stop() == 0)
        server.directory.remove()
        if let admin, let databaseURL { await TestDatabase.dropDatabase(url: databaseURL, adminURL: admin) }
    }
}

/// A file that a child process writes its standard output to (read after it exits; no pipe to drain).
final class TemporaryFileOutput: @unchecked Sendable {
    let path = NSTemporaryDirectory() + "kaito-output-" + UUID().uuidString

    var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
