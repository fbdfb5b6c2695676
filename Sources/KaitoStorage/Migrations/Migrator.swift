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

    /// Runs every pending migration, each inside `transaction` (which the backend provides, with its locking).
    /// Returns the versions applied.
    static func migrate(
        _ transaction: (@Sendable (any SQLDatabase) async throws -> Void) async throws -> Void,
        probe db: any SQLDatabase
    ) async throws -> [Int] {
        try await ensureTable(db)
        let current = try await currentVersion(db)
        if current > Migrations.latestVersion {
            throw Error.schemaTooNew(database: current, known: Migrations.latestVersion)
        }
        var applied: [Int] = []
        for migration in Migrations.all where migration.version > current {
            try await transaction { db in
                // Re-check inside the transaction: another process may have applied it meanwhile.
                guard try await currentVersion(db) < migration.version else { return }
                try await migration.apply(db)
                try await db.raw("""
                    INSERT INTO kaito_schema_migrations (version, name, applied_at)
                    VALUES (\(bind: migration.version), \(bind: migration.name), \(bind: Date().storedSeconds))
                    """).run()
            }
            applied.append(migration.version)
        }
        return applied
    }
}
