import Foundation
import KaitoCore
import Logging
import NIOConcurrencyHelpers
import PostgresKit
import PostgresNIO
import ServiceLifecycle
import SQLKit

/// PostgreSQL behind the `Storage` protocol, for several Kaito servers sharing one database.
///
/// The same SQLKit repositories as SQLite run here; what differs lives in this folder: the pooled
/// `PostgresClient`, transactions (`REPEATABLE READ READ ONLY` snapshots for reads, read-committed writes),
/// migrations serialised across servers by a transaction-scoped advisory lock, and the mapping of SQLSTATE
/// 23505 to `conflict`.
public final class PostgresStorage: Storage {
    let client: PostgresClient
    /// A task per service of `services` for a storage opened with `open` (an operator command, a test), ended by
    /// `close` in reverse order; none when a service group runs them (`kaito serve`).
    private let ownedServices = NIOLockedValueBox<[Task<Void, Never>]>([])
    /// Whether the LISTEN connection is up: only then does every change by any server reach this server's caches.
    let listening: NIOLockedValueBox<Listening>
    private let applied = NIOLockedValueBox<[Int]>([])
    public var migrationsAppliedAtOpen: [Int] { applied.withLockedValue { $0 } }
    /// Woken by this server's LISTEN connection when any server's transaction that ran `NOTIFY` commits.
    public let changes: ChangeHub
    public let rateLimits: any RateLimitStore
    private let dialect = PostgresDialectSupport()
    let logger: Logger
    /// The longest any unit of work waits for the database before it is `unavailable` (`KAITO_DATABASE_TIMEOUT`).
    let timeout: Duration

    /// The chain heads this server last wrote: its units of work and batches link to them without reading them.
    private let heads = ChainHeads(takesTurns: true)
    /// Code-read audit events, written a batch per transaction (see `PostgresAuditBatcher`).
    private let batcher = NIOLockedValueBox<PostgresAuditBatcher?>(nil)
    /// Each organisation's enabled webhook endpoints, for the batches' deliveries (while `cachesAreCurrent`).
    private let subscribers = InvalidatedCache<String, [WebhookEndpoint]>(capacity: 10_000)

    /// The advisory lock key under which migrations run ("kaito" in ASCII).
    static let migrationLockKey: Int64 = 0x6B_6169_746F

    /// The storage over `url`, not yet connected: its `services` (the connection pool and the LISTEN connection)
    /// must run, in a service group or by `open`, before `prepare` and any unit of work. Every unit of work waits at
    /// most `timeout` for the database, then fails with `unavailable`.
    /// - Throws: `unavailable` for a URL that names no PostgreSQL database.
    public init(url: String, timeout: Duration = .seconds(5), logger: Logger) throws {
        var configuration = try PostgresURL.configuration(url)
        configuration.options.maximumConnections = 20
        configuration.options.connectTimeout = timeout
        // The server's own bounds on work a client abandoned at its deadline: a statement, and a transaction left
        // idle (a connection whose rollback failed is closed by `transaction`, and this ends it on the server too).
        let milliseconds = Int(timeout.wholeMilliseconds)
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", String(max(30_000, 6 * milliseconds))),
            ("idle_in_transaction_session_timeout", String(max(10_000, 2 * milliseconds))),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.timeout = timeout
        self.logger = logger
        self.rateLimits = MappedRateLimitStore(
            base: LeasedRateLimitStore(shared: PostgresRateLimitStore(client: client, timeout: timeout)), logger: logger)
        let (changes, listening) = (ChangeHub(), NIOLockedValueBox(Listening()))
        self.changes = changes
        self.listening = listening
        self.services = [client, ChangeListener(client: client, changes: changes, listening: listening, logger: logger)]
    }

    /// What must run while the storage is used, in this order: the connection pool (`PostgresClient.run`), and the
    /// connection that `LISTEN`s for every server's changes (`ChangeListener`). Both end when cancelled or at a
    /// graceful shutdown; in `kaito serve`'s service group they stop after the server that uses them.
    public let services: [any Service]

    /// Connects to `url`, runs each of `services` in a task of its own until `close` (which stops them one by one, the
    /// last first), and prepares the storage: what an operator command or a test opens (a server runs the services in
    /// its service group and calls `prepare`).
    /// - Throws: `Migrator.Error.schemaTooNew`; `unavailable` when the database cannot be reached.
    public static func open(url: String, timeout: Duration = .seconds(5), logger: Logger) async throws -> PostgresStorage {
        let storage = try PostgresStorage(url: url, timeout: timeout, logger: logger)
        for service in storage.services {
            // Each task has begun before the next, and all before `prepare` leases a connection, so the pool has almost
            // always marked itself running (as it enters `run`) by the first lease: leasing before that works, but
            // PostgresNIO warns of it.
            await withCheckedContinuation { (begun: CheckedContinuation<Void, Never>) in
                let task = Task {
                    begun.resume()
                    try? await service.run()
                }
                storage.ownedServices.withLockedValue { $0.append(task) }
            }
        }
        try await storage.prepare()
        return storage
    }

    /// Brings the schema up to date (once, whichever server gets the lock first) and starts the code-read audit
    /// batches, over the running `services`.
    /// - Throws: `Migrator.Error.schemaTooNew`; `unavailable` when the database cannot be reached (the storage is
    ///   closed then).
    public func prepare() async throws {
        do {
            let versions = try await migrate()
            applied.withLockedValue { $0 = versions }
            weak let weakStorage = self
            let subscribers = self.subscribers
            changes.observe(CacheTopic.webhooks) { subscribers.invalidate() }
            batcher.withLockedValue { batcher in
                batcher = PostgresAuditBatcher(heads: heads) { body in
                    guard let storage = weakStorage else { throw KaitoError(.unavailable, "The database is closed.") }
                    return try await storage.withDatabase(body)
                } transaction: { body in
                    guard let storage = weakStorage else { throw KaitoError(.unavailable, "The database is closed.") }
                    return try await storage.transaction(begin: "BEGIN") { session in
                        guard let session = session as? SQLStorageSession else { preconditionFailure("a PostgreSQL session") }
                        return try await body(session)
                    }
                } subscribers: { organizationID, session in
                    try await subscribers.value(for: organizationID, usable: weakStorage?.cachesAreCurrent() == true) {
                        try await session.webhooks.activeEndpoints(organizationID: organizationID, topic: .auditEvent)
                    } ?? []
                }
            }
        } catch {
            try? await close()
            throw mapped(error)
        }
    }

    /// Applies pending migrations under the advisory lock; returns the versions applied.
    public func migrate() async throws -> [Int] {
        try await Migrator.migrate { body in
            try await client.withConnection { connection in
                try await Self.transaction(connection, begin: "BEGIN") { db in
                    try await db.raw("SELECT pg_advisory_xact_lock(\(bind: Self.migrationLockKey))").run()
                    return try await body(db)
                }
            }
        }
    }

    public func read<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", body)
    }

    public func write<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN", body)
    }

    /// One unit of work on a pooled connection, within the deadline.
    private func transaction<T: Sendable>(begin: String, _ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        let (client, dialect, changes, heads) = (self.client, self.dialect, self.changes, self.heads)
        // The deadline bounds the wait for the database (a connection, `BEGIN`); a transaction under way has longer.
        let begun = NIOLockedValueBox(false)
        do {
            return try await DatabaseDeadline.run(timeout, begun: begun) {
                try await client.withConnection { connection in
                    let session = NIOLockedValueBox<SQLStorageSession?>(nil)
                    let result = try await Self.transaction(connection, begin: begin) { db in
                        begun.withLockedValue { $0 = true }
                        let opened = SQLStorageSession(database: db, dialect: dialect, heads: heads)
                        session.withLockedValue { $0 = opened }
                        return try await body(opened)
                    }
                    // This server's own caches hear of the change before the response leaves (the NOTIFY that
                    // reaches every server's LISTEN connection, this one's included, comes a moment later).
                    for topic in session.withLockedValue({ $0?.committed.drain() ?? [] }) where CacheTopic.all.contains(topic) {
                        changes.publish(topic)
                    }
                    return result
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    public func appendAudit(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws {
        guard let batcher = batcher.withLockedValue({ $0 }) else { throw KaitoError(.unavailable, "The database is closed.") }
        try await batcher.append(pending, log: log, key: key)
    }

    public var cachedKeysMayLag: Bool { true }

    public func counters() -> [StorageCounter] {
        guard let statistics = batcher.withLockedValue({ $0?.statistics }) else { return [] }
        return [
            StorageCounter("audit_batch_events_total", "Code-read audit events written in batches", Double(statistics.events)),
            StorageCounter("audit_batches_total", "Batches (each one transaction) they were written in", Double(statistics.batches)),
            StorageCounter(
                "audit_contention_seconds_total",
                "Seconds requests spent on audit appends another server's append made void, chain-head lock waits included",
                statistics.contentionSeconds),
            StorageCounter("audit_append_seconds_total", "Seconds requests spent from handing their event over to its commit", statistics.appendSeconds),
        ]
    }

    /// Runs `body` on a pooled connection outside a transaction (each statement commits on its own), within the
    /// deadline; driver errors mapped.
    func withDatabase<T: Sendable>(_ body: @escaping @Sendable (SQLStorageSession) async throws -> T) async throws -> T {
        let (client, dialect, heads) = (self.client, self.dialect, self.heads)
        do {
            return try await DatabaseDeadline.run(timeout) {
                try await client.withConnection { connection in
                    try await body(SQLStorageSession(database: connection.sql(), dialect: dialect, heads: heads))
                }
            }
        } catch {
            throw mapped(error)
        }
    }

    public func schemaVersion() async throws -> Int {
        let client = self.client
        return try await DatabaseDeadline.run(timeout) {
            try await client.withConnection { connection in try await Migrator.currentVersion(connection.sql()) }
        }
    }

    /// Answers within a second (or the deadline, if shorter): a load balancer asks while the database is gone.
    public func isReachable() async -> Bool {
        let client = self.client
        return (try? await DatabaseDeadline.run(min(timeout, .seconds(1))) {
            try await client.withConnection { connection in
                try await connection.sql().raw("SELECT 1 AS one").first() != nil
            }
        }) ?? false
    }

    /// Ends a storage opened with `open`: its services stop one after the other, the last started first, as a service
    /// group stops them (the LISTEN connection is given back before the pool closes). A service group stops its own.
    public func close() async throws {
        let owned = ownedServices.withLockedValue { tasks in
            defer { tasks = [] }
            return tasks
        }
        for task in owned.reversed() {
            task.cancel()
            await task.value
        }
    }

    /// `begin` … `COMMIT`, or `ROLLBACK` when `body` throws or the unit was abandoned at its deadline (the caller was
    /// told 503: nothing may commit behind its back). The rollback runs outside this possibly cancelled task so that
    /// it is sent; a connection whose rollback fails is closed, never handed to the next unit mid-transaction.
    private static func transaction<T>(_ connection: PostgresConnection, begin: String, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        let db = connection.sql()
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(db)
            try Task.checkCancellation()
            try await db.raw("COMMIT").run()
            return result
        } catch {
            let rolledBack = await Task { (try? await db.raw("ROLLBACK").run()) != nil }.value
            if !rolledBack { try? await connection.close() }
            throw error
        }
    }

    /// Driver errors become `conflict` or `unavailable` (logged without values, never shown); others pass through.
    private func mapped(_ error: any Error) -> any Error {
        if let corrupt = error as? CorruptRow {
            logger.error("a stored row holds a value this server does not know", metadata: ["column": "\(corrupt.column)"])
            return KaitoError(.unavailable, "The database could not complete the request.", retryAfter: DatabaseDeadline.retryAfter)
        }
        guard error is PSQLError || error is PostgresError else { return error }
        if dialect.isUniqueViolation(error) { return KaitoError.conflict("The resource already exists.") }
        // The SQLSTATE and the server's message, never its `detail` (which can quote row values).
        let psql = error as? PSQLError
        logger.error("database error", metadata: [
            "code": "\(psql.map { "\($0.code)" } ?? "\(type(of: error))")",
            "sqlstate": "\(psql?.serverInfo?[.sqlState] ?? "-")",
            "message": "\(psql?.serverInfo?[.message] ?? "-")",
        ])
        return KaitoError(.unavailable, "The database could not complete the request.", retryAfter: DatabaseDeadline.retryAfter)
    }
}

struct PostgresDialectSupport: SQLDialectSupport {
    var claimLockSuffix: String { " FOR UPDATE SKIP LOCKED" }
    /// The key is "kaitowh" in ASCII; migrations take "kaito" (`migrationLockKey`).
    var claimSerialization: String? { "SELECT pg_advisory_xact_lock(\(0x6B_6169_746F_7768))" }
    var rowLockSuffix: String { " FOR UPDATE" }
    var notifiesInDatabase: Bool { true }
    var byteOrder: String { #" COLLATE "C""# }
    var modifiesInCTEs: Bool { true }

    func isUniqueViolation(_ error: any Error) -> Bool {
        (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}

extension PostgresStorage {
    /// Runs raw SQL outside any unit of work: for tests that tamper with rows or break tables.
    public func executeForTesting(_ sql: String) async throws {
        try await client.withConnection { connection in try await connection.sql().raw(SQLQueryString(sql)).run() }
        for topic in CacheTopic.all { changes.publish(topic) }
    }

    /// Records a schema version that this build does not know, as a newer kaito would (for tests of the refusal).
    public func markSchemaVersionForTesting(_ version: Int) async throws {
        try await client.withConnection { connection in
            try await connection.sql().raw("""
                INSERT INTO kaito_schema_migrations (version, name, applied_at) VALUES (\(bind: version), 'future', 0)
                """).run()
        }
    }

    /// How many migrations are recorded as applied (for the test that servers starting together apply each once).
    public func appliedMigrationCountForTesting() async throws -> Int {
        try await client.withConnection { connection in
            try await connection.sql().raw("SELECT COUNT(*) AS n FROM kaito_schema_migrations").first()?.int("n") ?? 0
        }
    }
}
