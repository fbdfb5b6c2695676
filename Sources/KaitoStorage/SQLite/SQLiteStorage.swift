import Foundation
import KaitoCore
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import SQLiteKit
import SQLKit

/// SQLite in WAL mode behind the `Storage` protocol: one writer connection on its own thread, a few reader
/// connections, each lent to one unit of work at a time. Readers see snapshots and never wait for the writer;
/// writes that queue behind each other share one commit (`GroupCommit`).
///
/// One server serves a SQLite database, and operator commands (`kaito admin ...`) may write it at the same time
/// from processes of their own. The server keeps keys and tokens in memory (`ServerCaches`); an operator process
/// tells it of each change it commits by appending a byte to `<database>-changes` (`ChangeSignal`), which the
/// server checks (one `stat`) before it answers from memory. Audit events that are their request's only write go
/// to `SQLiteAppender`, which notices any other process's commit (`PRAGMA data_version`) before it trusts the chain
/// state it keeps in memory. Edits by hand while a server runs are not signalled: stop the server first.
public final class SQLiteStorage: Storage {
    /// Whether this process serves the database (and may cache) or is an operator command (and signals its changes).
    public enum Role: Sendable {
        case server
        case operatorCommand
    }
    /// The writer connection, used on its own event loop's thread only (through `groupCommit`).
    private let writer: RawSQLiteDatabase
    /// Units of work that arrive while the writer is busy commit together (see `GroupCommit`).
    private let groupCommit: GroupCommit
    private let readers: ConnectionPool<SQLiteConnection>
    private let readerCount: Int
    private let threadPools: [NIOThreadPool]
    private let dialect = SQLiteDialectSupport()
    private let logger: Logger
    private let closed = NIOLockedValueBox(false)
    /// One server per SQLite database: rate-limit state lives in memory, with no write per request.
    public let rateLimits: any RateLimitStore = InMemoryRateLimitStore()
    /// Every writer is in this process: long-polls are woken here after each commit.
    public let changes: ChangeHub

    public let migrationsAppliedAtOpen: [Int]
    private let role: Role
    private let signal: ChangeSignal

    /// The writer connection's own event loop, where its batches run.
    private let writerLoop: MultiThreadedEventLoopGroup

    private init(
        writer: RawSQLiteDatabase, writerLoop: MultiThreadedEventLoopGroup, readers: [SQLiteConnection], threadPools: [NIOThreadPool],
        migrationsApplied: [Int], role: Role, path: String, logger: Logger
    ) {
        self.migrationsAppliedAtOpen = migrationsApplied
        self.role = role
        let signal = ChangeSignal(path: path + "-changes")
        self.signal = signal
        self.writer = writer
        self.writerLoop = writerLoop
        let changes = ChangeHub()
        self.changes = changes
        let appender = SQLiteAppender(db: writer) { for topic in CacheTopic.all { changes.publish(topic) } }
        self.groupCommit = GroupCommit(
            db: writer, appender: appender, dialect: SQLiteDialectSupport(), executor: EventLoopTaskExecutor(writer.eventLoop))
        self.readers = ConnectionPool(readers)
        self.readerCount = readers.count
        self.threadPools = threadPools
        self.logger = logger
    }

    /// Opens (creating if needed) the database file at `path` and brings its schema up to date. A statement that
    /// finds the database locked by another process waits at most `busyTimeout`, then fails with `unavailable`.
    /// - Throws: `Migrator.Error.schemaTooNew` for a database written by a newer kaito; SQLite errors.
    public static func open(
        path: String, readerCount: Int = 4, busyTimeout: Duration = .seconds(5), role: Role = .operatorCommand, logger: Logger
    ) async throws -> SQLiteStorage {
        // SQLite's own busy handler sleeps between tries and gives up after the timeout (it replaces the driver's,
        // which retries at once, for ever: a lock held elsewhere made requests spin).
        let busy = "PRAGMA busy_timeout = \(busyTimeout.wholeMilliseconds)"
        let readerPool = NIOThreadPool(numberOfThreads: max(1, min(readerCount, 4)))
        readerPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        let writerLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let storage: SQLiteStorage
        var opened: RawSQLiteDatabase?
        do {
            let writer = try await RawSQLiteDatabase.open(path: path, busyTimeout: busyTimeout, on: writerLoop.next(), logger: logger)
            opened = writer
            // Migrations run on the writer's thread like every other write.
            let applied = try await Task(executorPreference: EventLoopTaskExecutor(writer.eventLoop)) {
                try await Migrator.migrate { body in try await Self.transaction(writer, body) }
            }.value
            var readers: [SQLiteConnection] = []
            for _ in 0..<max(1, readerCount) {
                let reader = try await SQLiteConnection.open(storage: .file(path: path), threadPool: readerPool, logger: logger, on: eventLoop)
                try await reader.sql().raw("PRAGMA query_only = ON").run()
                try await reader.sql().raw(SQLQueryString(busy)).run()
                readers.append(reader)
            }
            storage = SQLiteStorage(
                writer: writer, writerLoop: writerLoop, readers: readers, threadPools: [readerPool], migrationsApplied: applied,
                role: role, path: path, logger: logger)
        } catch {
            try? await opened?.close()
            try? await readerPool.shutdownGracefully()
            try? await writerLoop.shutdownGracefully()
            throw error
        }
        return storage
    }

    public func read<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        do {
            return try await readers.withConnection { connection in
                // A deferred transaction: one snapshot for every query of the unit of work.
                try await Self.transaction(connection.sql(), begin: "BEGIN") { db in
                    try await body(SQLStorageSession(database: db, dialect: dialect))
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    public func lookup<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        do {
            return try await readers.withConnection { connection in
                try await body(SQLStorageSession(database: connection.sql(), dialect: dialect))
            }
        } catch {
            throw mapped(error)
        }
    }

    public func write<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        do {
            let (result, topics) = try await groupCommit.run { session in try await body(session) }
            if role == .operatorCommand, topics.contains(where: CacheTopic.all.contains), !signal.raise() {
                logger.warning("could not tell a running server of this change: restart it to see it", metadata: ["file": "\(signal.path)"])
            }
            for topic in topics { changes.publish(topic) }
            return result
        } catch {
            throw mapped(error)
        }
    }

    /// `key` needs no check here: every change to keys reaches this process's caches before its transaction's caller
    /// returns (and an operator command's before its command returns).
    public func appendAudit(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws {
        do {
            try await groupCommit.append(pending, log: log)
        } catch {
            throw mapped(error)
        }
    }

    public func cachesAreCurrent() -> Bool {
        guard role == .server else { return false }
        signal.check { for topic in CacheTopic.all { changes.publish(topic) } }
        return true
    }

    public func counters() -> [StorageCounter] {
        let statistics = groupCommit.statistics
        return [
            StorageCounter("write_units_total", "Units of work and audit events the writer has run", Double(statistics.units)),
            StorageCounter("write_transactions_total", "Transactions (each one commit) the writer has run them in", Double(statistics.transactions)),
        ]
    }

    /// How many units of work the writer has run, and in how many transactions.
    public var writeStatistics: (units: Int, transactions: Int) {
        let statistics = groupCommit.statistics
        return (statistics.units, statistics.transactions)
    }

    public func schemaVersion() async throws -> Int {
        try await readers.withConnection { connection in try await Migrator.currentVersion(connection.sql()) }
    }

    public func isReachable() async -> Bool {
        (try? await readers.withConnection { connection in
            try await connection.sql().raw("SELECT 1 AS one").first() != nil
        }) ?? false
    }

    public func close() async throws {
        guard closed.withLockedValue({ wasClosed in defer { wasClosed = true }; return !wasClosed }) else { return }
        try await groupCommit.close()
        for connection in await readers.close(count: readerCount) { try await connection.close() }
        for pool in threadPools { try await pool.shutdownGracefully() }
        try await writerLoop.shutdownGracefully()
    }

    /// `BEGIN IMMEDIATE` (or `begin`) … `COMMIT`, or `ROLLBACK` when `body` throws. The caller holds the lease.
    private static func transaction<T>(
        _ db: any SQLDatabase, begin: String = "BEGIN IMMEDIATE", _ body: (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            return result
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    /// Driver errors become `conflict` or `unavailable` (logged, never shown); everything else passes through.
    private func mapped(_ error: any Error) -> any Error {
        if let corrupt = error as? CorruptRow {
            logger.error("a stored row holds a value this server does not know", metadata: ["column": "\(corrupt.column)"])
            return KaitoError(.unavailable, "The database could not complete the request.", retryAfter: DatabaseDeadline.retryAfter)
        }
        if error is PoolClosed || error is GroupCommit.Closed { return KaitoError(.unavailable, "The database is closed.") }
        if error is SQLiteAppender.ChainMoved {
            logger.error("an audit chain's head moved outside this server's writer; the batch was not written")
            return KaitoError(.unavailable, "The database could not complete the request.", retryAfter: DatabaseDeadline.retryAfter)
        }
        guard error is SQLiteError || error is RawSQLiteDatabase.Error else { return error }
        if dialect.isUniqueViolation(error) { return KaitoError.conflict("The resource already exists.") }
        logger.error("database error", metadata: ["error": "\(String(describing: error))"])
        return KaitoError(.unavailable, "The database could not complete the request.", retryAfter: DatabaseDeadline.retryAfter)
    }
}

struct SQLiteDialectSupport: SQLDialectSupport {
    var claimLockSuffix: String { "" }
    var claimSerialization: String? { nil }
    var rowLockSuffix: String { "" }
    var notifiesInDatabase: Bool { false }
    var byteOrder: String { "" }
    var modifiesInCTEs: Bool { false }

    func isUniqueViolation(_ error: any Error) -> Bool {
        if let error = error as? RawSQLiteDatabase.Error { return error.isUniqueViolation }
        guard let error = error as? SQLiteError else { return false }
        switch error.reason {
        case .constraintUniqueFailed, .constraintPrimaryKeyFailed: return true
        case .constraint: return error.message.contains("UNIQUE")
        default: return false
        }
    }
}

extension SQLiteStorage {
    /// Runs raw SQL outside any unit of work: for tests that tamper with rows or break tables.
    public func executeForTesting(_ sql: String) async throws {
        // As a unit of work (which makes the writer read chains and endpoints again); whatever it changed, no cache
        // may keep the old value.
        _ = try await groupCommit.run { session in try await session.database.raw(SQLQueryString(sql)).run() }
        for topic in CacheTopic.all { changes.publish(topic) }
    }

    /// Records a schema version that this build does not know, as a newer kaito would (for tests of the refusal).
    public func markSchemaVersionForTesting(_ version: Int) async throws {
        _ = try await groupCommit.run { session in
            try await session.database.raw("""
                INSERT INTO kaito_schema_migrations (version, name, applied_at) VALUES (\(bind: version), 'future', 0)
                """).run()
        }
    }
}

extension SQLiteStorage {
    /// A consistent copy of the database at `path`, taken with `VACUUM INTO` on a connection of its own while servers
    /// keep writing (never a file copy of a live database: the copy would miss the WAL or tear a page). Returns the
    /// copy's bytes; the temporary file is removed.
    public static func snapshot(databasePath path: String, logger: Logger) async throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KaitoError.notFound("The database \(path)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kaito-backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("kaito.sqlite").path
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        do {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            do {
                try await connection.sql().raw("VACUUM INTO \(bind: copy)").run()
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
            try await pool.shutdownGracefully()
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: copy)))
    }
}

extension SQLiteStorage {
    /// What `kaito admin restore` checks of a database before it becomes a server's: SQLite's own integrity check
    /// (`ok` when sound), and the master key its server secrets are wrapped with (nil when it has none: not a Kaito
    /// database, or one no server has started on). Read only; the file is left as it was.
    public static func inspect(path: String, logger: Logger) async throws -> (integrity: String, masterKeyID: String?) {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        defer { pool.shutdownGracefully { _ in } }
        let connection = try await SQLiteConnection.open(storage: .file(path: path), threadPool: pool, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        do {
            let db = connection.sql()
            try await db.raw("PRAGMA query_only = ON").run()
            let integrity = try await db.raw("PRAGMA integrity_check").first()?.decode(column: "integrity_check", as: String.self) ?? "no answer"
            var masterKeyID: String?
            if integrity == "ok", try await db.raw("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'server_secrets'").first() != nil {
                masterKeyID = try await db.raw("SELECT master_key_id FROM server_secrets WHERE name = 'api-key-hash'").first()?.string("master_key_id")
            }
            try await connection.close()
            return (integrity, masterKeyID)
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
