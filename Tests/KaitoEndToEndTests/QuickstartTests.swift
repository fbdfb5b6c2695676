import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import NIOCore
import NIOHTTP1
import KaitoTestSupport
import Testing

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}

/// The product page's Quickstart, on a real socket, against the real executable, checked by pyotp.
@Suite("End to end: kaito serve on a real socket", .serialized)
struct QuickstartTests {
    @Test("Codes of SHA1, SHA256 and SHA512 tokens match pyotp; kaito code prints the same")
    func quickstart() async throws {
        // On PostgreSQL when the suite runs with one (scripts/test's second pass), else on SQLite.
        let admin = TestDatabase.postgresAdminURL
        let databaseURL = try await admin.asyncMap { try await TestDatabase.createDatabase(adminURL: $0) }
        let server = try await ServerProcess.start(databaseURL: databaseURL)
        defer { server.directory.remove() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await checkQuickstart(server, http)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            _ = server.stop()
            throw error
        }
        // SIGTERM shuts the server down cleanly.
        #expect(server.stop() == 0)
        if let admin, let databaseURL { await TestDatabase.dropDatabase(url: databaseURL, adminURL: admin) }
    }

    func checkQuickstart(_ server: ServerProcess, _ http: HTTPClient) async throws {
        // The data directory holds the secrets with mode 0600.
        let files = ["master.key", "bootstrap-admin.key"]
        for name in files {
            let attributes = try FileManager.default.attributesOfItem(atPath: server.directory.path + "/" + name)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(name)")
        }
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        let writer = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "setup", "scopes": ["tokens:write"]}"#)
        #expect(writer.status == 201)
        let writerKey = try #require(try JSONDecoder().decode(KeyResponse.self, from: writer.body).key)
        let coder = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "ci", "scopes": ["tokens:code"]}"#)
        let codeKey = try #require(try JSONDecoder().decode(KeyResponse.self, from: coder.body).key)

        for (algorithm, length, digits) in [("SHA1", 20, 6), ("SHA256", 32, 8), ("SHA512", 64, 7)] {
            let secret = Base32.encode(SystemRandomSource().bytes(length))
            let slug = "aws-prod-\(algorithm.lowercased())"
            let created = try await request(http, .POST, server.url + "/v1/tokens", key: writerKey, body: """
                {"slug": "\(slug)", "secret": "\(secret)", "algorithm": "\(algorithm)", "digits": \(digits)}
                """)
            #expect(created.status == 201)

            let fetched = try await request(http, .GET, server.url + "/v1/tokens/\(slug)/code?min_valid=4", key: codeKey)
            #expect(fetched.status == 200)
            let code = try JSONDecoder().decode(CodeResponse.self, from: fetched.body)
            #expect(code.code.count == digits)
            #expect((4...30).contains(code.expiresIn))
            #expect(try await pyotpNow(secret: secret, algorithm: algorithm, digits: digits) == code.code, "\(algorithm)")
        }

        // `kaito code` prints the code alone on one line.
        let secret = Base32.encode(SystemRandomSource().bytes(20))
        _ = try await request(http, .POST, server.url + "/v1/tokens", key: writerKey, body: #"{"slug": "aws-prod", "secret": "\#(secret)"}"#)
        let cli = try await run(try ServerProcess.executable, ["code", "aws-prod", "--min-valid", "4"], environment: ["KAITO_URL": server.url, "KAITO_KEY": codeKey])
        #expect(cli.status == 0, "\(cli.error)")
        #expect(cli.output == (try await pyotpNow(secret: secret, algorithm: "SHA1", digits: 6)) + "\n")

        // Its exit codes tell scripts what went wrong.
        #expect(try await run(try ServerProcess.executable, ["code", "missing"], environment: ["KAITO_URL": server.url, "KAITO_KEY": codeKey]).status == 4)
        #expect(try await run(try ServerProcess.executable, ["code", "aws-prod"], environment: ["KAITO_URL": server.url, "KAITO_KEY": writerKey]).status == 3)
        #expect(try await run(try ServerProcess.executable, ["code", "aws-prod"], environment: ["KAITO_URL": server.url, "KAITO_KEY": "kto_live_nope"]).status == 3)
        #expect(try await run(try ServerProcess.executable, ["code"], environment: ["KAITO_URL": server.url, "KAITO_KEY": codeKey]).status == 2)
        #expect(try await run(try ServerProcess.executable, ["code", "aws-prod"], environment: ["KAITO_URL": "http://127.0.0.1:1", "KAITO_KEY": codeKey]).status == 1)
    }

    @Test("Operator commands: create-org prints a working admin key; create-key prints a scoped key")
    func adminCommands() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let organization = try await run(kaito, ["admin", "create-org", "acme", "--data-dir", server.directory.path])
        #expect(organization.status == 0, "\(organization.error)")
        let acmeAdmin = organization.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(APIKeySecret(parsing: acmeAdmin) != nil)
        let key = try await run(kaito, ["admin", "create-key", "--org", "acme", "--name", "ci", "--scopes", "tokens:code,tokens:read", "--data-dir", server.directory.path])
        #expect(key.status == 0, "\(key.error)")
        let ciKey = key.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await run(kaito, ["admin", "create-org", "acme", "--data-dir", server.directory.path]).status != 0)
        #expect(try await run(kaito, ["admin", "create-key", "--org", "nobody", "--name", "x", "--scopes", "tokens:code", "--data-dir", server.directory.path]).status == 4)
        #expect(try await run(kaito, ["admin", "create-key", "--org", "acme", "--name", "x", "--scopes", "root", "--data-dir", server.directory.path]).status == 2)
        let plan = try await run(kaito, ["admin", "set-plan", "acme", "enterprise", "--data-dir", server.directory.path])
        #expect(plan.status == 0 && plan.output == "acme: enterprise\n", "\(plan.error)")
        #expect(try await run(kaito, ["admin", "set-plan", "acme", "platinum", "--data-dir", server.directory.path]).status == 2)
        #expect(try await run(kaito, ["migrate", "--data-dir", server.directory.path]).output.hasPrefix("schema version "))

        // Users and renames, as an org admin would make them through the API.
        let dir = ["--data-dir", server.directory.path]
        let owner = try await run(kaito, ["admin", "add-user", "acme", "ada@example.com", "--role", "owner"] + dir)
        #expect(owner.status == 0, "\(owner.error)")
        let ownerID = owner.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ownerID.hasPrefix("usr_"))
        #expect(try await run(kaito, ["admin", "add-user", "acme", "not-an-email"] + dir).status == 2)
        let users = try await run(kaito, ["admin", "users", "acme"] + dir)
        #expect(users.output == "\(ownerID)\towner\tada@example.com\n")
        // A member's token grants: none, or existing tokens only; owners see every token (409 → exit 1).
        let member = try await run(kaito, ["admin", "add-user", "acme", "max@example.com"] + dir).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await run(kaito, ["admin", "grant-tokens", "acme", member] + dir).output == "\(member) is granted no tokens\n")
        #expect(try await run(kaito, ["admin", "grant-tokens", "acme", member, "no-such-token"] + dir).status == 2)
        #expect(try await run(kaito, ["admin", "grant-tokens", "acme", ownerID] + dir).status == 1)
        #expect(try await run(kaito, ["admin", "remove-user", "acme", member] + dir).status == 0)
        #expect(try await run(kaito, ["admin", "remove-user", "acme", ownerID] + dir).status == 1, "the last owner stays")
        #expect(try await run(kaito, ["admin", "remove-user", "acme", "usr_01AAAAAAAAAAAAAAAAAAAAAAAA"] + dir).status == 4)
        #expect(try await run(kaito, ["admin", "rename-org", "acme", "acme-corp"] + dir).output == "acme-corp\n")
        #expect(try await run(kaito, ["admin", "rename-org", "acme-corp", "Bad Name"] + dir).status == 2)
        #expect(try await run(kaito, ["admin", "set-plan", "acme-corp", "enterprise"] + dir).output == "acme-corp: enterprise\n")
        #expect(try await run(kaito, ["admin", "rename-org", "acme-corp", "acme"] + dir).status == 0)

        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let selfView = try await request(http, .GET, server.url + "/v1/keys/self", key: ciKey)
        // The running server sees the new plan at once: Enterprise-only overrides are accepted.
        let fast = try await request(http, .POST, server.url + "/v1/keys", key: acmeAdmin, body: #"{"name": "fast", "scopes": ["tokens:code"], "rate_limits": {"code": 600}}"#)
        let listAsAdmin = try await request(http, .GET, server.url + "/v1/keys", key: acmeAdmin)
        try await http.shutdown()
        #expect(selfView.status == 200)
        #expect(fast.status == 201)
        #expect(try JSONDecoder().decode(KeyResponse.self, from: selfView.body).scopes == ["tokens:read", "tokens:code"])
        #expect(try JSONDecoder().decode(ListResponse<KeyResponse>.self, from: listAsAdmin.body).data.count == 3)

        // `kaito audit verify` checks the chains from the database, and names the first broken link.
        let verified = try await run(kaito, ["audit", "verify", "--data-dir", server.directory.path])
        #expect(verified.status == 0, "\(verified.output) \(verified.error)")
        #expect(verified.output.contains(": ok, "))
        let tamper = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("UPDATE audit_events SET actor_name = 'someone else' WHERE seq = 2 AND org_id = (SELECT id FROM organizations WHERE name = 'acme')")
            db.commit()
            """
        #expect(try await run(python, ["-c", tamper, server.directory.path + "/kaito.sqlite"]).status == 0)
        let broken = try await run(kaito, ["audit", "verify", "--org", "acme", "--data-dir", server.directory.path])
        #expect(broken.status == 1)
        #expect(broken.output.contains("BROKEN at seq 2"), "\(broken.output)")
        #expect(server.stop() == 0)
    }

    /// The current code by pyotp, an implementation that shares no code with Kaito.
    func pyotpNow(secret: String, algorithm: String, digits: Int) async throws -> String {
        let script = """
            import hashlib, sys, pyotp
            totp = pyotp.TOTP(sys.argv[1], digest=getattr(hashlib, sys.argv[2].lower()), digits=int(sys.argv[3]), interval=30)
            print(totp.now())
            """
        let result = try await run(python, ["-c", script, secret, algorithm, String(digits)])
        guard result.status == 0 else { throw Failure("pyotp failed (run scripts/test, which installs it): \(result.error)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
