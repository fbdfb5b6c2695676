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

    @Test("Concurrent writes: each commits or rolls back on its own, also when they share a transaction")
    func concurrentUnits() async throws {
        try await withTestRuntime { test in
            struct Abort: Error {}
            let storage = test.runtime.storage
            let before = (storage as? SQLiteStorage)?.writeStatistics
            let committed = storage.changes.subscribe("unit-0")
            let aborted = storage.changes.subscribe("unit-3")
            defer { committed.cancel(); aborted.cancel() }
            let outcomes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<64 {
                    group.addTask {
                        do {
                            try await storage.write { session in
                                // Unit 5 takes unit 4's name: a conflict, for unit 5 alone (whichever runs second).
                                let name = index == 5 ? "unit-4" : "unit-\(index)"
                                try await session.organizations.insert(Organization(id: "org_unit\(index)", name: name, createdAt: Date()))
                                try await session.notifyAfterCommit("unit-\(index)")
                                if index % 8 == 3 { throw Abort() }
                            }
                            return (index, "ok")
                        } catch is Abort {
                            return (index, "aborted")
                        } catch let error as KaitoError {
                            return (index, error.code.rawValue)
                        }
                    }
                }
                return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
            }
            let names = try await storage.read { session in
                var ids: [String] = []
                for index in 0..<64 {
                    if let organization = try await session.organizations.find(name: "unit-\(index)") { ids.append(organization.id) }
                }
                return ids
            }
            // A unit's notifications go out only if it committed.
            #expect(await committed.wait(timeout: .seconds(5)))
            #expect(await aborted.wait(timeout: .milliseconds(300)) == false)
            for index in 0..<64 where index != 5 && index != 4 {
                let expected = index % 8 == 3 ? "aborted" : "ok"
                #expect(outcomes[index] == expected, "unit \(index)")
                #expect(names.contains("org_unit\(index)") == (expected == "ok"), "unit \(index)")
            }
            // Of the two units that wanted "unit-4", exactly one holds it.
            #expect(Set([outcomes[4], outcomes[5]]) == ["ok", "conflict"])
            #expect(names.filter { $0 == "org_unit4" || $0 == "org_unit5" }.count == 1)
            if let before, let after = (storage as? SQLiteStorage)?.writeStatistics {
                #expect(after.units - before.units == 64)
                #expect(after.transactions - before.transactions < 64, "units that queue share a commit")
            }
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

extension RepositoryTests {
    /// Seconds since 1970 rather than dates: describing a non-finite `Date` traps in Foundation itself.
    @Test("A date out of every range is stored clamped to years 1-9999, never a trap", arguments: [
        Date.distantFuture.timeIntervalSince1970, Date.distantPast.timeIntervalSince1970, 1e20, -1e20, .infinity, -.infinity, .nan,
    ])
    func outOfRangeDates(since1970: TimeInterval) async throws {
        let date = Date(timeIntervalSince1970: since1970)
        try await withTestRuntime { test in
            let organizationID = test.organization.id
            let endpoint = WebhookEndpoint(
                id: "whk_01JD5B4W6T0Q9M8Z7X3C2V1N0P", organizationID: organizationID, url: "https://hooks.example.com/h", description: nil,
                topics: [.auditEvent], auditActions: [], sealedSecret: [1, 2, 3], previousSealedSecret: [4], previousSecretExpiresAt: date,
                failingSince: date, createdAt: date, updatedAt: date)
            let delivery = WebhookDelivery(
                id: "msg_01JD5B4W6T0Q9M8Z7X3C2V1N0P", organizationID: organizationID, endpointID: endpoint.id, type: "webhook.test",
                data: "{}", createdAt: date, nextAttemptAt: date)
            try await test.runtime.storage.write { session in
                try await session.webhooks.insert(endpoint)
                try await session.webhooks.insertDelivery(delivery)
                try await session.organizations.insert(Organization(id: "org_far", name: "far", createdAt: date))
            }
            @Sendable func storable(_ date: Date?) -> Bool { date.map { Timestamp.storableSeconds.contains(Int64($0.timeIntervalSince1970)) } ?? false }
            try await test.runtime.storage.read { session in
                let stored = try #require(try await session.webhooks.find(id: endpoint.id, organizationID: organizationID))
                #expect(storable(stored.previousSecretExpiresAt) && storable(stored.failingSince) && storable(stored.createdAt))
                let storedDelivery = try #require(try await session.webhooks.findDelivery(id: delivery.id, organizationID: organizationID))
                #expect(storable(storedDelivery.nextAttemptAt))
                #expect(storable(try await session.organizations.find(name: "far")?.createdAt))
            }
        }
    }
}
