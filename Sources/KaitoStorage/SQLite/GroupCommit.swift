import KaitoCore
import SQLiteKit
import SQLKit

/// Group commit for the SQLite writer: units of work that arrive while the writer is busy are run together in one
/// transaction, each inside its own savepoint, and made durable by one `COMMIT` (one fsync of the WAL) for all.
///
/// What each unit sees and guarantees is what it would with a transaction of its own:
/// - its statements run in arrival order, after the previous unit's, on the one writer connection;
/// - a unit that throws is rolled back to its savepoint, and only that unit fails;
/// - no unit returns before the `COMMIT` that makes its writes (and its audit event) durable; if that `COMMIT`
///   fails, every unit of the batch fails and nothing of it is kept;
/// - an error that ends the transaction itself (an I/O error, a full disk) fails the whole batch.
/// A unit that finds the writer idle runs alone, in a plain transaction, with no added latency.
///
/// Audit events that are their request's only write (`append`: a code read) need no savepoint: the batch's events go
/// to `SQLiteAppender`, which writes them on a connection of its own, after the batch's units of work have committed.
final class GroupCommit: Sendable {
    typealias Body = @Sendable (SQLStorageSession) async throws -> any Sendable

    private struct Unit {
        let body: Body
        let continuation: CheckedContinuation<(any Sendable, [String]), any Error>
    }

    private struct AuditItem {
        let item: SQLiteAppender.Item
        let continuation: CheckedContinuation<Void, any Error>
    }

    private enum Work {
        case unit(Unit)
        case audit(AuditItem)
    }

    private struct State {
        var queue: [Work] = []
        var running = false
    }

    /// The most units in one transaction: bounds the latency one batch adds to its last unit.
    static let maximumBatch = 128

    private let writer: ConnectionPool<SQLiteConnection>
    private let dialect: SQLiteDialectSupport
    private let state = Locked(State())
    private let appender: SQLiteAppender
    /// Whether a unit of work has committed since the appender's last batch (read and written by the drain loop).
    private let unitsCommitted = Locked(true)
    private let counts = Locked(Statistics(units: 0, transactions: 0))

    /// Units run and transactions committed so far (units / transactions is the mean batch).
    struct Statistics: Sendable, Equatable {
        var units: Int
        var transactions: Int
    }

    var statistics: Statistics { counts.withLock { $0 } }

    /// Where batches run: the writer connection's event loop (see `EventLoopTaskExecutor`).
    private let executor: (any TaskExecutor)?

    init(writer: ConnectionPool<SQLiteConnection>, appender: SQLiteAppender, dialect: SQLiteDialectSupport, executor: (any TaskExecutor)?) {
        self.writer = writer
        self.appender = appender
        self.dialect = dialect
        self.executor = executor
    }

    /// Runs `body` in the next batch; returns its result and the topics it asked to publish, once committed.
    func run<T: Sendable>(_ body: @Sendable @escaping (SQLStorageSession) async throws -> T) async throws -> (T, [String]) {
        let (result, topics) = try await withCheckedThrowingContinuation { continuation in
            enqueue(.unit(Unit(body: { session in try await body(session) }, continuation: continuation)))
        }
        guard let typed = result as? T else { preconditionFailure("a unit's result changed type") }
        return (typed, topics)
    }

    /// Writes `pending`, linked by `log`, in the next batch; returns once committed.
    func append(_ pending: PendingAuditEvent, log: AuditLog) async throws {
        try await withCheckedThrowingContinuation { continuation in
            enqueue(.audit(AuditItem(item: SQLiteAppender.Item(pending: pending, log: log), continuation: continuation)))
        }
    }

    private func enqueue(_ work: Work) {
        let startsDraining = state.withLock { state -> Bool in
            state.queue.append(work)
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if startsDraining { Task(executorPreference: executor) { await self.drain() } }
    }

    /// Runs batches until the queue is empty.
    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Work] in
                let batch = Array(state.queue.prefix(Self.maximumBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            var units: [Unit] = []
            var audits: [AuditItem] = []
            for work in batch {
                switch work {
                case .unit(let unit): units.append(unit)
                case .audit(let item): audits.append(item)
                }
            }
            counts.withLock { $0.units += batch.count; $0.transactions += 1 }
            if !units.isEmpty {
                do {
                    try await writer.withConnection { connection in
                        if units.count == 1 {
                            try await runAlone(units[0], connection.sql())
                        } else {
                            try await runTogether(units, connection.sql())
                        }
                    }
                } catch {
                    // Only a closed pool gets here: no unit has been resumed yet.
                    for unit in units { unit.continuation.resume(throwing: error) }
                }
                // Committed or not, a unit may have moved a chain: the appender reads them again.
                unitsCommitted.withLock { $0 = true }
            }
            if !audits.isEmpty {
                let forget = unitsCommitted.withLock { committed in defer { committed = false }; return committed }
                do {
                    try await appender.write(audits.map(\.item), unitsCommitted: forget)
                    for item in audits { item.continuation.resume() }
                } catch {
                    for item in audits { item.continuation.resume(throwing: error) }
                }
            }
        }
    }

    /// One unit, one transaction.
    private func runAlone(_ unit: Unit, _ db: any SQLDatabase) async throws {
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            return unit.continuation.resume(throwing: error)
        }
        do {
            let session = SQLStorageSession(database: db, dialect: dialect)
            let result = try await unit.body(session)
            try await db.raw("COMMIT").run()
            unit.continuation.resume(returning: (result, session.committed.drain()))
        } catch {
            try? await db.raw("ROLLBACK").run()
            unit.continuation.resume(throwing: error)
        }
    }

    /// Several units, one transaction, a savepoint each, one commit.
    private func runTogether(_ batch: [Unit], _ db: any SQLDatabase) async throws {
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            for unit in batch { unit.continuation.resume(throwing: error) }
            return
        }
        var outcomes: [Result<(any Sendable, [String]), any Error>] = []
        do {
            for unit in batch {
                try await db.raw("SAVEPOINT kaito_unit").run()
                let session = SQLStorageSession(database: db, dialect: dialect)
                do {
                    let result = try await unit.body(session)
                    try await db.raw("RELEASE kaito_unit").run()
                    outcomes.append(.success((result, session.committed.drain())))
                } catch where !Self.endsTransaction(error) {
                    try await db.raw("ROLLBACK TO kaito_unit").run()
                    try await db.raw("RELEASE kaito_unit").run()
                    outcomes.append(.failure(error))
                }
            }
            try await db.raw("COMMIT").run()
        } catch {
            try? await db.raw("ROLLBACK").run()
            for unit in batch { unit.continuation.resume(throwing: error) }
            return
        }
        for (unit, outcome) in zip(batch, outcomes) { unit.continuation.resume(with: outcome) }
    }

    /// Makes the appender read chains and endpoints again (tests that change rows behind its back).
    func forgetEverything() { unitsCommitted.withLock { $0 = true } }

    /// Whether an error leaves the transaction unusable (SQLite's own failures, other than constraint violations,
    /// which roll back only their statement): the batch then fails as a whole.
    static func endsTransaction(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        switch error.reason {
        case .constraint, .constraintUniqueFailed, .constraintPrimaryKeyFailed, .constraintForeignKeyFailed,
            .constraintNotNullFailed, .constraintCheckFailed:
            return false
        default:
            return true
        }
    }
}
