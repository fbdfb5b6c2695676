import Foundation
import KaitoCore
import SQLKit

/// Applies pending migrations and refuses a database whose schema is newer than this build knows.
enum Migrator {
    enum Error: Swift.Error, CustomStringConvertible {
        case schemaTooNew(database: Int, known: Int)

        var description: String {
            switch self {
            case .schemaTooNew(let database, let known):
                return "the database schema is at version \(database), newer than this kaito knows (\(known)); upgrade kaito"
            }
        }
    }

    static func ensureTable(_ db: any SQLDatabase) async throws {
        try await db.create(table: "kaito_schema_migrations").ifNotExists()
            .column("version", type: .bigint, .primaryKey(autoIncrement: false))
            .column("name", type: .text, .notNull)
            .column("applied_at", type: .bigint, .notNull)
            .run()
    }

    static func currentVersion(_ db: any SQLDatabase) async throws -> Int {
        try await db.raw("SELECT COALESCE(MAX(version), 0) AS v FROM kaito_schema_migrations").first()?.int("v") ?? 0
    }

    /// Runs every pending migration in one transaction that `transaction` provides with the backend's locking
    /// (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so that servers starting together apply each
    /// migration once. Returns the versions applied.
    /// - Throws: `Error.schemaTooNew` when the database was migrated by a newer kaito.
    static func migrate(
        _ transaction: (@Sendable (any SQLDatabase) async throws -> [Int]) async throws -> [Int]
    ) async throws -> [Int] {
        try await transaction { db in
            try await ensureTable(db)
            let current = try await currentVersion(db)
            if current > Migrations.latestVersion {
                throw Error.schemaTooNew(database: current, known: Migrations.latestVersion)
            }
            var applied: [Int] = []
            for migration in Migrations.all where migration.version > current {
                try await migration.apply(db)
                try await db.raw("""
                    INSERT INTO kaito_schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Date().storedSeconds))
                    """).run()
                applied.append(migration.version)
            }
            return applied
        }
    }
}
