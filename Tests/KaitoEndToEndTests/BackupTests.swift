import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

/// `kaito admin backup` and `restore` against a live server that keeps writing.
@Suite("End to end: backup and restore (SQLite)", .serialized)
struct BackupTests {
    @Test("A backup taken while writes continue restores, on a fresh data dir, to the same codes, a verifying audit chain and the pending webhooks")
    func backupWhileWriting() async throws {
        let server = try await ServerProcess.start(environment: ["KAITO_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8"])
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var restored: ServerProcess?
        do {
            let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let masterKey = try String(contentsOfFile: server.directory.path + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:code"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            _ = try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#)
            // A receiver that never answers (port 9 is closed): every audit.event delivery stays pending.
            let hook = try await request(http, .POST, server.url + "/v1/webhooks", key: admin, body: #"{"url": "http://127.0.0.1:9/hook", "topics": ["audit.event"]}"#)
            let webhook = try JSONDecoder().decode(WebhookResponse.self, from: hook.body)

            // Writes keep coming while the backup is taken.
            let rounds = NIOLockedValueBox(0)
            let writes = Task {
                var count = 0
                while !Task.isCancelled {
                    _ = try? await request(http, .PATCH, server.url + "/v1/tokens/aws-prod", key: key, body: #"{"name": "write \#(count)"}"#)
                    _ = try? await request(http, .GET, server.url + "/v1/tokens/aws-prod/code", key: key)
                    count += 1
                    rounds.withLockedValue { $0 = count }
                }
                return count
            }
            // Writes before, during and after the backup.
            try await waitUntil("writes are under way") { rounds.withLockedValue { $0 } >= 5 }
            let archive = scratch.path + "/backup.tar"
            let backup = try await run(kaito, ["admin", "backup", "--to", archive, "--data-dir", server.directory.path])
            let atEnd = rounds.withLockedValue { $0 }
            try await waitUntil("writes go on after the backup") { rounds.withLockedValue { $0 } >= atEnd + 3 }
            writes.cancel()
            let written = await writes.value
            #expect(backup.status == 0, "\(backup.error)")
            #expect(backup.output.contains("(not included)"))
            #expect(written > 0)
            let listing = try await run(URL(fileURLWithPath: "/bin/tar"), ["-tf", archive])
            #expect(listing.output == "manifest.json\nkaito.sqlite\n", "a standard tar: \(listing.error)")
            let archiveBytes = try Data(contentsOf: URL(fileURLWithPath: archive))
            #expect(archiveBytes.range(of: Data(masterKey.utf8)) == nil, "the master key is not in the backup")
            #expect(archiveBytes.range(of: Data("JBSWY3DPEHPK3PXP".utf8)) == nil, "nor is the seed")
            #expect(try await run(kaito, ["admin", "backup", "--to", archive, "--data-dir", server.directory.path]).status == 1, "never overwrites")
            #expect(server.stop() == 0)

            // Restore into a fresh data dir: the wrong key is refused, no key is allowed (the server will need it).
            let target = scratch.path + "/restored"
            let wrongKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            let refused = try await run(kaito, ["admin", "restore", "--from", archive, "--data-dir", target], environment: ["KAITO_MASTER_KEY": wrongKey])
            #expect(refused.status == 1 && refused.error.contains("wrapped by master key"), "\(refused.error)")
            let restore = try await run(kaito, ["admin", "restore", "--from", archive, "--data-dir", target])
            #expect(restore.status == 0, "\(restore.error)")
            #expect(restore.output.contains("KAITO_MASTER_KEY"))
            #expect(try await run(kaito, ["admin", "restore", "--from", archive, "--data-dir", target]).status == 1, "not into a directory with a database")
            // Without the key, operator commands and the server say what is missing rather than make a new key.
            let keyless = try await run(kaito, ["audit", "verify", "--data-dir", target])
            #expect(keyless.status != 0 && keyless.error.contains("there is no master key"), "\(keyless.error)")
            #expect(!FileManager.default.fileExists(atPath: target + "/master.key"))
            let verify = try await run(kaito, ["audit", "verify", "--data-dir", target], environment: ["KAITO_MASTER_KEY": masterKey])
            #expect(verify.status == 0 && verify.output.contains(": ok, "), "\(verify.output) \(verify.error)")

            let again = try await ServerProcess.start(environment: ["KAITO_MASTER_KEY": masterKey], directory: TemporaryDirectory(existing: target))
            restored = again
            let code = try JSONDecoder().decode(CodeResponse.self, from: try await request(http, .GET, again.url + "/v1/tokens/aws-prod/code?min_valid=5", key: key).body)
            let expected = try await TestEnvironment.runPython("import pyotp; print(pyotp.TOTP('JBSWY3DPEHPK3PXP').now())", [])
            #expect(code.code == expected, "the same seed, decrypted with the same master key")
            let deliveries = try JSONDecoder().decode(
                ListResponse<WebhookDeliveryResponse>.self,
                from: try await request(http, .GET, again.url + "/v1/webhooks/\(webhook.id)/deliveries", key: admin).body)
            #expect(!deliveries.data.isEmpty && deliveries.data.allSatisfy { $0.status == "pending" }, "pending deliveries came along")
            _ = again.stop()
            restored = nil

            // With the master key included, a restore needs nothing else; a tampered archive is refused.
            let withKey = scratch.path + "/with-key.tar"
            let included = try await run(kaito, ["admin", "backup", "--to", withKey, "--include-master-key", "--data-dir", target], environment: ["KAITO_MASTER_KEY": masterKey])
            #expect(included.status == 0 && included.output.contains("(included)"), "\(included.error)")
            let second = scratch.path + "/second"
            #expect(try await run(kaito, ["admin", "restore", "--from", withKey, "--data-dir", second]).status == 0)
            #expect(try String(contentsOfFile: second + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == masterKey)
            #expect(try await run(kaito, ["audit", "verify", "--data-dir", second]).status == 0)
            var tampered = try Data(contentsOf: URL(fileURLWithPath: withKey))
            tampered[4096] ^= 0x01
            try tampered.write(to: URL(fileURLWithPath: scratch.path + "/tampered.tar"))
            let bad = try await run(kaito, ["admin", "restore", "--from", scratch.path + "/tampered.tar", "--data-dir", scratch.path + "/third"])
            #expect(bad.status == 1 && bad.error.contains("checksum"), "\(bad.error)")
        } catch {
            _ = restored?.stop()
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test("kaito admin restore of a hostile archive (a negative size, a name with ..) exits 1 with one line, and writes nothing")
    func hostileArchive() async throws {
        let kaito = try ServerProcess.executable
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        for (index, (what, archive)) in HostileTarArchives.all.enumerated() where what == "negative size" || what == "parent directory name" {
            let file = scratch.path + "/hostile-\(index).tar"
            try Data(archive).write(to: URL(fileURLWithPath: file))
            let result = try await run(kaito, ["admin", "restore", "--from", file, "--data-dir", scratch.path + "/target"])
            #expect(result.status == 1, "\(what): \(result.error)")
            #expect(result.error.contains("not a Kaito backup archive") && result.error.trimmingCharacters(in: .newlines).split(separator: "\n").count == 1, "\(what): \(result.error)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path + "/target"))
        }
    }

    /// PostgreSQL's own tools, from the cluster scripts/postgres.sh started (KAITO_PG_BIN) or the Debian path.
    static func postgresTool(_ name: String) -> URL? {
        let directories = [ProcessInfo.processInfo.environment["KAITO_PG_BIN"], "/usr/lib/postgresql/15/bin", "/usr/bin"].compactMap { $0 }
        return directories.map { URL(fileURLWithPath: $0).appendingPathComponent(name) }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    @Test("PostgreSQL: a pg_dump restored into a new database serves the same codes and verifies its audit chain",
          .enabled(if: TestDatabase.postgresAdminURL != nil))
    func pgDumpRestore() async throws {
        let adminURL = try #require(TestDatabase.postgresAdminURL)
        let (dump, restore) = (try #require(Self.postgresTool("pg_dump")), try #require(Self.postgresTool("pg_restore")))
        let source = try await TestDatabase.createDatabase(adminURL: adminURL)
        let target = try await TestDatabase.createDatabase(adminURL: adminURL)
        let masterKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let kaito = try ServerProcess.executable
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        do {
            let server = try await ServerProcess.start(databaseURL: source, environment: ["KAITO_MASTER_KEY": masterKey])
            defer { server.directory.remove() }
            let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let made = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:write", "tokens:code"]}"#)
            let key = try #require(try JSONDecoder().decode(KeyResponse.self, from: made.body).key)
            _ = try await request(http, .POST, server.url + "/v1/tokens", key: key, body: #"{"slug": "gcp-prod", "secret": "KRSXG5CTMVRXEZLU", "digits": 8}"#)
            #expect(server.stop() == 0)

            let file = scratch.path + "/kaito.dump"
            let dumped = try await run(dump, ["--format=custom", "--no-owner", "--file=\(file)", "--dbname=\(source)"])
            #expect(dumped.status == 0, "\(dumped.error)")
            let loaded = try await run(restore, ["--no-owner", "--exit-on-error", "--dbname=\(target)", file])
            #expect(loaded.status == 0, "\(loaded.error)")

            let verify = try await run(kaito, ["audit", "verify", "--database-url", target], environment: ["KAITO_MASTER_KEY": masterKey])
            #expect(verify.status == 0 && verify.output.contains(": ok, "), "\(verify.output) \(verify.error)")
            let again = try await ServerProcess.start(databaseURL: target, environment: ["KAITO_MASTER_KEY": masterKey])
            defer { again.directory.remove() }
            let code = try JSONDecoder().decode(CodeResponse.self, from: try await request(http, .GET, again.url + "/v1/tokens/gcp-prod/code?min_valid=5", key: key).body)
            let expected = try await TestEnvironment.runPython("import pyotp; print(pyotp.TOTP('KRSXG5CTMVRXEZLU', digits=8).now())", [])
            #expect(code.code == expected)
            #expect(again.stop() == 0)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        await TestDatabase.dropDatabase(url: source, adminURL: adminURL)
        await TestDatabase.dropDatabase(url: target, adminURL: adminURL)
    }
}
