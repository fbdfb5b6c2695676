import Foundation
import KaitoCore
import KaitoStorage
import KaitoTestSupport
import Logging
import NIOConcurrencyHelpers
import Testing

/// What only PostgreSQL has to prove: several servers on one database.
@Suite("PostgreSQL: several servers on one database", .enabled(if: TestDatabase.postgresAdminURL != nil))
struct PostgresStorageTests {
    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    @Test("Servers starting together apply each migration once")
    func concurrentMigrations() async throws {
        let admin = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: admin)
        let logger = self.logger
        let storages = try await withThrowingTaskGroup(of: PostgresStorage.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStorage.open(url: url, logger: logger) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(storages.count == 4)
        for storage in storages {
            #expect(try await storage.schemaVersion() == Migrations.latestVersionForTesting)
            // A second explicit run (`kaito migrate`) finds nothing to do.
            #expect(try await storage.migrate().isEmpty)
        }
        let applied = try await storages[0].appliedMigrationCountForTesting()
        #expect(applied == Migrations.latestVersionForTesting)
        for storage in storages { try await storage.close() }
        await TestDatabase.dropDatabase(url: url, adminURL: admin)
    }

    @Test("Caches are used only while the LISTEN connection is up: a lost one turns them off, and listening resumes")
    func listenConnectionLost() async throws {
        let admin = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: admin)
        let storage = try await PostgresStorage.open(url: url, logger: logger)
        func waitFor(_ expected: Bool) async throws -> Bool {
            for _ in 0..<100 {
                if storage.cachesAreCurrent() == expected { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return false
        }
        #expect(try await waitFor(true), "listening after start")
        // Caches that were filled before the loss are emptied when listening resumes.
        let emptied = NIOLockedValueBox(0)
        storage.changes.observe(CacheTopic.keys) { emptied.withLockedValue { $0 += 1 } }
        try await storage.executeForTesting("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()
            """)
        #expect(try await waitFor(false), "caches off once the connection is gone")
        let before = emptied.withLockedValue { $0 }
        #expect(try await waitFor(true), "listening again on a new connection")
        #expect(emptied.withLockedValue { $0 } > before, "caches emptied when listening resumed")
        try await storage.close()
        await TestDatabase.dropDatabase(url: url, adminURL: admin)
    }

    @Test("A schema newer than this build is refused")
    func schemaTooNew() async throws {
        let admin = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: admin)
        let storage = try await PostgresStorage.open(url: url, logger: logger)
        try await storage.markSchemaVersionForTesting(Migrations.latestVersionForTesting + 1)
        try await storage.close()
        await #expect(throws: (any Error).self) { try await PostgresStorage.open(url: url, logger: logger).close() }
        await TestDatabase.dropDatabase(url: url, adminURL: admin)
    }

    @Test("What one server writes, another reads at once")
    func sharedState() async throws {
        let admin = try #require(TestDatabase.postgresAdminURL)
        let url = try await TestDatabase.createDatabase(adminURL: admin)
        let one = try await PostgresStorage.open(url: url, logger: logger)
        let two = try await PostgresStorage.open(url: url, logger: logger)
        let organization = Organization(id: "org_01ARZ3NDEKTSV4RRFFQ69G5FAV", name: "acme", createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await one.write { try await $0.organizations.insert(organization) }
        #expect(try await two.read { try await $0.organizations.find(name: "acme") } == organization)
        // The unique name holds across servers.
        let error = await #expect(throws: KaitoError.self) {
            try await two.write { try await $0.organizations.insert(Organization(id: "org_01ARZ3NDEKTSV4RRFFQ69G5FAW", name: "acme", createdAt: Date())) }
        }
        #expect(error?.code == .conflict)
        try await one.close()
        try await two.close()
        await TestDatabase.dropDatabase(url: url, adminURL: admin)
    }
}
