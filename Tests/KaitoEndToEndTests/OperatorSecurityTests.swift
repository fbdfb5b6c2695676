import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// Operator commands that close what the first start leaves open, and prove the audit log against a head seen
/// elsewhere; on the real executable, next to a running server.
@Suite("End to end: the bootstrap key and the audit chain from the operator's side", .serialized)
struct OperatorSecurityTests {
    @Test("rotate-bootstrap-key revokes the bootstrap key, removes its file and prints a working replacement")
    func rotateBootstrapKey() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let dir = ["--data-dir", server.directory.path]
        let path = server.directory.path + "/bootstrap-admin.key"
        let bootstrap = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        #expect(try await request(http, .GET, server.url + "/v1/keys", key: bootstrap).status == 200)

        let rotated = try await run(kaito, ["admin", "rotate-bootstrap-key", "default"] + dir)
        #expect(rotated.status == 0, "\(rotated.error)")
        let replacement = rotated.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(APIKeySecret(parsing: replacement) != nil)
        #expect(rotated.error.contains("revoked 1 bootstrap key"))
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try await request(http, .GET, server.url + "/v1/keys", key: bootstrap).status == 401)
        let keys = try await request(http, .GET, server.url + "/v1/keys", key: replacement)
        #expect(keys.status == 200)
        // The replacement has owner powers (issued to nobody), so the organisation is never locked out.
        #expect(try await request(http, .POST, server.url + "/v1/org/users", key: replacement, body: #"{"email": "o@example.com", "role": "owner"}"#).status == 201)

        // The replacement is the bootstrap key's successor: the next rotation retires it in turn.
        let again = try await run(kaito, ["admin", "rotate-bootstrap-key", "default", "--revoke-only"] + dir)
        #expect(again.status == 0 && again.output.isEmpty)
        #expect(again.error.contains("revoked 1 bootstrap key"), "\(again.error)")
        #expect(try await request(http, .GET, server.url + "/v1/keys", key: replacement).status == 401)
        #expect(try await run(kaito, ["admin", "rotate-bootstrap-key", "nobody"] + dir).status == 4)
        #expect(try await run(kaito, ["audit", "verify"] + dir).status == 0)
        #expect(server.stop() == 0)
    }

    @Test("audit verify --expect SEQ:HASH catches events removed behind a restored head; a chain rewritten without the master key fails")
    func verifyExpect() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let kaito = try ServerProcess.executable
        let dir = ["--data-dir", server.directory.path]
        let database = server.directory.path + "/kaito.sqlite"
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let auditorResponse = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "auditor", "scopes": ["audit:read"]}"#)
        let auditor = try #require(try JSONDecoder().decode(KeyResponse.self, from: auditorResponse.body).key)

        // What the database writer saves before more happens: the head row, tag included.
        let save = """
            import sqlite3, sys, json
            db = sqlite3.connect(sys.argv[1])
            print(json.dumps(db.execute("SELECT seq, hash, tag FROM audit_heads").fetchone()))
            """
        let saved = try await run(python, ["-c", save, database])
        #expect(saved.status == 0, "\(saved.error)")
        for name in ["a", "b", "c"] {
            _ = try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "\#(name)", "scopes": ["tokens:read"]}"#)
        }
        // What a receiver of audit.event deliveries (or an export) holds: the newest event's seq and hash.
        let newest = try JSONDecoder().decode(ListResponse<AuditEventResponse>.self, from: try await request(http, .GET, server.url + "/v1/audit?limit=1", key: auditor).body).data[0]
        let expect = "\(newest.seq):\(newest.hash)"
        #expect(try await run(kaito, ["audit", "verify", "--org", "default", "--expect", expect] + dir).status == 0)
        #expect(try await run(kaito, ["audit", "verify", "--expect", expect] + dir).status == 2, "--expect needs --org")
        #expect(try await run(kaito, ["audit", "verify", "--org", "default", "--expect", "12:nothex"] + dir).status == 2)

        // The writer removes the newest events and puts the saved head back, tag and all.
        let truncate = """
            import sqlite3, sys, json
            seq, hash, tag = json.loads(sys.argv[2])
            db = sqlite3.connect(sys.argv[1])
            db.execute("DELETE FROM audit_events WHERE seq > ?", (seq,))
            db.execute("UPDATE audit_heads SET seq = ?, hash = ?, tag = ?", (seq, hash, tag))
            db.commit()
            """
        #expect(try await run(python, ["-c", truncate, database, saved.output]).status == 0)
        #expect(try await run(kaito, ["audit", "verify", "--org", "default"] + dir).status == 0, "a restored head alone looks whole")
        let caught = try await run(kaito, ["audit", "verify", "--org", "default", "--expect", expect] + dir)
        #expect(caught.status == 1)
        #expect(caught.output.contains("events were removed"), "\(caught.output)")
        #expect(server.stop() == 0)
    }

    @Test("Denials folded in memory are written when the server stops (SIGTERM): none is lost")
    func foldedDenialsAtShutdown() async throws {
        let server = try await ServerProcess.start()
        defer { server.directory.remove() }
        let admin = try String(contentsOfFile: server.directory.path + "/bootstrap-admin.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        let created = try JSONDecoder().decode(KeyResponse.self, from: try await request(http, .POST, server.url + "/v1/keys", key: admin, body: #"{"name": "gone", "scopes": ["tokens:read"]}"#).body)
        #expect(try await request(http, .DELETE, server.url + "/v1/keys/\(created.id)", key: admin).status == 204)
        for _ in 0..<30 { #expect(try await request(http, .GET, server.url + "/v1/tokens", key: try #require(created.key)).status == 401) }
        #expect(server.stop() == 0)
        let count = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            rows = db.execute("SELECT COUNT(*), SUM(COALESCE(occurrences, 1)) FROM audit_events WHERE action = 'auth.denied' AND actor_id = ?", (sys.argv[2],)).fetchone()
            print(rows[0], rows[1])
            """
        let result = try await run(python, ["-c", count, server.directory.path + "/kaito.sqlite", created.id])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "2 30", "events and denials: \(result.output) \(result.error)")
        #expect(try await run(try ServerProcess.executable, ["audit", "verify", "--data-dir", server.directory.path]).status == 0)
    }
}
