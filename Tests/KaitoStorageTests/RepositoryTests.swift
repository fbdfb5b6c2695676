import Foundation
import KaitoCore
import KaitoStorage
import KaitoTestSupport
import Logging
import Testing

@Suite("SQL repositories on SQLite")
struct RepositoryTests {
    @Test("Nothing is reachable across organisations")
    func organisationIsolation() async throws {
        try await withTestRuntime { test in
            let (other, _) = try await test.otherOrganization()
            let mine = test.organization.id
            let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite])))
            let token = try await test.runtime.tokens.create(TokenDraft(slug: "shared-name", secret: "JBSWY3DPEHPK3PXP"), by: caller)
            try await test.runtime.storage.read { session in
                #expect(try await session.tokens.find(slug: "shared-name", organizationID: mine) != nil)
                #expect(try await session.tokens.find(slug: "shared-name", organizationID: other.id) == nil)
                #expect(try await session.tokens.list(organizationID: other.id, slugs: nil, after: nil, limit: 10).isEmpty)
                let keys = try await session.keys.list(organizationID: mine, after: nil, limit: 10)
                #expect(try await session.keys.find(id: keys[0].id, organizationID: other.id) == nil)
            }
            try await test.runtime.storage.write { session in
                #expect(try await session.tokens.delete(slug: "shared-name", organizationID: other.id) == false)
                let keys = try await session.keys.list(organizationID: mine, after: nil, limit: 10)
                #expect(try await session.keys.revoke(id: keys[0].id, organizationID: other.id, at: Date()) == false)
            }
            // The same slug in the other organisation is a different token.
            let otherCaller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite], in: other)))
            let otherToken = try await test.runtime.tokens.create(TokenDraft(slug: "shared-name", secret: "MZXW6YTBOI4DAMRX"), by: otherCaller)
            #expect(otherToken.id != token.id)
        }
    }

    @Test("A duplicate slug is a conflict and the transaction rolls back")
    func conflictRollsBack() async throws {
        try await withTestRuntime { test in
            let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite])))
            _ = try await test.runtime.tokens.create(TokenDraft(slug: "dup", secret: "JBSWY3DPEHPK3PXP"), by: caller)
            let error = await #expect(throws: KaitoError.self) {
                _ = try await test.runtime.tokens.create(TokenDraft(slug: "dup", secret: "JBSWY3DPEHPK3PXP"), by: caller)
            }
            #expect(error?.code == .conflict)
            // A write that throws after inserting leaves nothing behind.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await test.runtime.storage.write { session in
                    try await session.organizations.insert(Organization(id: "org_x", name: "rolled-back", createdAt: Date()))
                    throw Abort()
                }
            }
            #expect(try await test.runtime.storage.read { try await $0.organizations.find(name: "rolled-back") } == nil)
        }
    }

    @Test("Pages follow the cursor without gaps or repeats")
    func pagination() async throws {
        try await withTestRuntime { test in
            let caller = try await test.runtime.keys.authenticate(authorization: "Bearer " + (try await test.key([.tokensWrite, .tokensRead])))
            let slugs = (0..<7).map { "token-\($0)" }
            for slug in slugs.shuffled() {
                _ = try await test.runtime.tokens.create(TokenDraft(slug: slug, secret: "JBSWY3DPEHPK3PXP"), by: caller)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await test.runtime.tokens.list(by: caller, after: cursor, limit: 3)
                seen += page.items.map(\.slug)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == slugs)
        }
    }

    @Test("Reopening migrates nothing twice; a schema newer than the build is refused")
    func migrations() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/kaito.sqlite"
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        try await SQLiteStorage.open(path: path, logger: logger).close()
        let storage = try await SQLiteStorage.open(path: path, logger: logger)
        let version = try await storage.schemaVersion()
        #expect(version == Migrations.latestVersionForTesting)

        // Pretend a newer kaito migrated this database.
        try await storage.markSchemaVersionForTesting(version + 1)
        try await storage.close()
        await #expect(throws: (any Error).self) {
            try await SQLiteStorage.open(path: path, logger: logger).close()
        }
    }
}
