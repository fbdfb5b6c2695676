import KaitoCore
import NIOConcurrencyHelpers
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
/// Audit events that are their request's only write (`append`: a code read) need no savepoint: `SQLiteAppender`
/// writes the batch's events after its units, in the same transaction.
///
/// Batches run on the writer connection's own thread (`RawSQLiteDatabase`): a whole batch, statements and commit,
/// with no hand-off to another thread.
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
        var closed = false
    }

    /// The most units in one transaction: bounds the latency one batch adds to its last unit.
    static let maximumBatch = 128

    private let db: RawSQLiteDatabase
    private let dialect: SQLiteDialectSupport
    private let state = NIOLockedValueBox(State())
    private let appender: SQLiteAppender
    private let counts = NIOLockedValueBox(Statistics(units: 0, transactions: 0))

    /// Units run and transactions committed so far (units / transactions is the mean batch).
    struct Statistics: Sendable, Equatable {
        var units: Int
        var transactions: Int
    }

    var statistics: Statistics { counts.withLockedValue { $0 } }

    /// Where batches run: the writer connection's event loop (see `EventLoopTaskExecutor`).
    private let executor: any TaskExecutor

    /// The writer is closed: no new work is taken.
    struct Closed: Error {}

    init(db: RawSQLiteDatabase, appender: SQLiteAppender, dialect: SQLiteDialectSupport, executor: any TaskExecutor) {
        self.db = db
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

    /// Takes no more work, waits for the batches queued so far, and closes the connection.
    func close() async throws {
        let idle = state.withLockedValue { state -> Bool in
            state.closed = true
            return !state.running
        }
        if !idle {
            // The drain loop ends once the queue is empty; closed, the queue only shrinks.
            while state.withLockedValue({ $0.running }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        try await db.close()
    }

    private func enqueue(_ work: Work) {
        let startsDraining = state.withLockedValue { state -> Bool? in
            guard !state.closed else { return nil }
            state.queue.append(work)
            guard !state.running else { return false }
            state.running = true
            return true
        }
        switch startsDraining {
        case nil:
            switch work {
            case .unit(let unit): unit.continuation.resume(throwing: Closed())
            case .audit(let item): item.continuation.resume(throwing: Closed())
            }
        case true?:
            Task(executorPreference: executor) { await self.drain() }
        case false?:
            break
        }
    }

    /// Runs batches until the queue is empty.
    private func drain() async {
        while true {
            let batch = state.withLockedValue { state -> [Work] in
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
            counts.withLockedValue { $0.units += batch.count; $0.transactions += 1 }
            await run(units, audits)
        }
    }

    /// One transaction: the units (each in a savepoint when there are several), then the audit events; one commit.
    private func run(_ units: [Unit], _ audits: [AuditItem]) async {
        func failAll(_ error: any Error) {
            for unit in units { unit.continuation.resume(throwing: error) }
            for item in audits { item.continuation.resume(throwing: error) }
        }
        do {
            try db.run("BEGIN IMMEDIATE", [])
        } catch {
            return failAll(error)
        }
        var outcomes: [Result<(any Sendable, [String]), any Error>] = []
        do {
            if !audits.isEmpty { try appender.checkExternalChanges() }
            let alone = units.count == 1 && audits.isEmpty
            for unit in units {
                let session = SQLStorageSession(database: db, dialect: dialect, heads: appender.heads)
                if alone {
                    outcomes.append(.success((try await unit.body(session), session.committed.drain())))
                    continue
                }
                try db.run("SAVEPOINT kaito_unit", [])
                do {
                    let result = try await unit.body(session)
                    try db.run("RELEASE kaito_unit", [])
                    outcomes.append(.success((result, session.committed.drain())))
                } catch where !Self.endsTransaction(error) {
                    try db.run("ROLLBACK TO kaito_unit", [])
                    try db.run("RELEASE kaito_unit", [])
                    // It may have moved a chain before it failed: what the writer knows of the chains is read again.
                    appender.forget()
                    outcomes.append(.failure(error))
                }
            }
            // A unit may have changed an endpoint: the appender reads them again.
            if !units.isEmpty { appender.forgetSubscribers() }
            if !audits.isEmpty { try appender.write(audits.map(\.item)) }
            try db.run("COMMIT", [])
        } catch {
            try? db.run("ROLLBACK", [])
            appender.forget()
            return failAll(error)
        }
        for (unit, outcome) in zip(units, outcomes) { unit.continuation.resume(with: outcome) }
        for item in audits { item.continuation.resume() }
    }

    /// Whether an error leaves the transaction unusable (SQLite's own failures, other than constraint violations,
    /// which roll back only their statement): the batch then fails as a whole.
    static func endsTransaction(_ error: any Error) -> Bool {
        guard let error = error as? RawSQLiteDatabase.Error else { return false }
        return !error.isConstraint
    }
}
