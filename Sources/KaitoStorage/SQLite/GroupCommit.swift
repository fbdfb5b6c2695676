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
/// Audit events that are their request's only write (`appendAudit`: a code read) need no savepoint and no read: the
/// writer is the database's only writer in this process, so it keeps each organisation's chain state and its
/// `audit.event` subscribers in memory, links a batch's events there, writes them with one multi-row `INSERT`, and
/// moves each chain's stored head once per batch, on the condition that it is still the head it knows. What the
/// memory holds is dropped when another process has written the database (`PRAGMA data_version`, read under the
/// batch's write lock), when a unit of work of the batch may have moved a chain or changed an endpoint, and when a
/// batch fails.
final class GroupCommit: Sendable {
    typealias Body = @Sendable (SQLStorageSession) async throws -> any Sendable

    private struct Unit {
        let body: Body
        let continuation: CheckedContinuation<(any Sendable, [String]), any Error>
    }

    private struct AuditItem {
        let pending: PendingAuditEvent
        let log: AuditLog
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

    /// What only the writer writes, as of its last commit. Used by the drain loop alone (one batch at a time).
    private struct WriterMemory {
        /// `PRAGMA data_version` at the last batch: it changes when another connection (another process) commits.
        var dataVersion: Int?
        /// Each chain's state, and whether its tag was valid when it was read (the writer keeps it valid since).
        var heads: [String: (state: AuditChainState, trusted: Bool)] = [:]
        var subscribers: [String: [WebhookEndpoint]] = [:]
    }

    /// A chain's stored head was not the one the writer knew: the batch fails rather than fork the chain.
    struct ChainMoved: Error {}

    /// The most units in one transaction: bounds the latency one batch adds to its last unit.
    static let maximumBatch = 128

    private let writer: ConnectionPool<SQLiteConnection>
    private let dialect: SQLiteDialectSupport
    private let state = Locked(State())
    private let memory = Locked(WriterMemory())
    /// Called (on the writer) when another process is seen to have written the database.
    private let externalChange: @Sendable () -> Void
    private let counts = Locked(Statistics(units: 0, transactions: 0))

    /// Units run and transactions committed so far (units / transactions is the mean batch).
    struct Statistics: Sendable, Equatable {
        var units: Int
        var transactions: Int
    }

    var statistics: Statistics { counts.withLock { $0 } }

    /// Where batches run: the writer connection's event loop (see `EventLoopTaskExecutor`).
    private let executor: (any TaskExecutor)?

    init(
        writer: ConnectionPool<SQLiteConnection>, dialect: SQLiteDialectSupport, executor: (any TaskExecutor)?,
        externalChange: @escaping @Sendable () -> Void = {}
    ) {
        self.writer = writer
        self.dialect = dialect
        self.executor = executor
        self.externalChange = externalChange
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
            enqueue(.audit(AuditItem(pending: pending, log: log, continuation: continuation)))
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
            do {
                try await writer.withConnection { connection in
                    if units.count == 1, audits.isEmpty {
                        try await runAlone(units[0], connection.sql())
                    } else {
                        try await runTogether(units, audits, connection.sql())
                    }
                }
            } catch {
                // Only a closed pool gets here: no unit has been resumed yet.
                for unit in units { unit.continuation.resume(throwing: error) }
                for item in audits { item.continuation.resume(throwing: error) }
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
        // A unit of work may move any chain (its audit event) or change endpoints: the writer reads them again.
        forgetMemory(keepingDataVersion: true)
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

    /// Several units and audit events, one transaction, a savepoint per unit, one commit.
    private func runTogether(_ units: [Unit], _ audits: [AuditItem], _ db: any SQLDatabase) async throws {
        do {
            try await db.raw("BEGIN IMMEDIATE").run()
        } catch {
            for unit in units { unit.continuation.resume(throwing: error) }
            for item in audits { item.continuation.resume(throwing: error) }
            return
        }
        var outcomes: [Result<(any Sendable, [String]), any Error>] = []
        var memory: WriterMemory?
        do {
            if !audits.isEmpty { try await checkExternalChanges(db) }
            if !units.isEmpty { forgetMemory(keepingDataVersion: true) }
            for unit in units {
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
            if !audits.isEmpty { memory = try await write(audits, db) }
            try await db.raw("COMMIT").run()
        } catch {
            try? await db.raw("ROLLBACK").run()
            forgetMemory(keepingDataVersion: false)
            for unit in units { unit.continuation.resume(throwing: error) }
            for item in audits { item.continuation.resume(throwing: error) }
            return
        }
        if let memory { self.memory.withLock { $0 = memory } }
        for (unit, outcome) in zip(units, outcomes) { unit.continuation.resume(with: outcome) }
        for item in audits { item.continuation.resume() }
    }

    /// Links `audits` to their chains as the writer knows them, writes the events, their deliveries and each chain's
    /// new head; returns what the writer knows once this commits.
    private func write(_ audits: [AuditItem], _ db: any SQLDatabase) async throws -> WriterMemory {
        var memory = self.memory.withLock { $0 }
        let chains = SQLAuditRepository(db: db, dialect: dialect)
        let webhooks = SQLStorageSession(database: db, dialect: dialect).webhooks
        var before: [String: AuditHead] = [:]
        var events: [AuditEvent] = []
        var deliveries: [WebhookDelivery] = []
        for item in audits {
            let organizationID = item.pending.organizationID
            if memory.heads[organizationID] == nil {
                let state = try await chains.lockHead(organizationID: organizationID)
                memory.heads[organizationID] = (state, state.isTrusted(by: item.log.chain))
            }
            if memory.subscribers[organizationID] == nil {
                memory.subscribers[organizationID] = try await webhooks.activeEndpoints(organizationID: organizationID, topic: .auditEvent)
            }
            guard var (state, trusted) = memory.heads[organizationID], let subscribers = memory.subscribers[organizationID] else { continue }
            if before[organizationID] == nil { before[organizationID] = state.head }
            let event = item.log.link(item.pending, to: &state, trusted: trusted)
            memory.heads[organizationID] = (state, trusted)
            events.append(event)
            deliveries += item.log.deliveries(of: event, to: subscribers)
        }
        try await chains.insert(events)
        for delivery in deliveries { try await webhooks.insertDelivery(delivery) }
        for (organizationID, head) in before {
            guard let (state, _) = memory.heads[organizationID], try await chains.advance(from: head, to: state) else { throw ChainMoved() }
        }
        return memory
    }

    /// Drops what the writer knows if another process has committed since the last batch (and tells the storage,
    /// whose caches then empty too).
    private func checkExternalChanges(_ db: any SQLDatabase) async throws {
        let version = try await db.raw("PRAGMA data_version").first()?.decode(column: "data_version", as: Int.self)
        let changed = memory.withLock { memory -> Bool in
            defer { memory.dataVersion = version }
            return memory.dataVersion != nil && memory.dataVersion != version
        }
        if changed {
            forgetMemory(keepingDataVersion: true)
            externalChange()
        }
    }

    /// Drops what the writer knows (tests that change rows behind its back).
    func forgetEverything() { forgetMemory(keepingDataVersion: false) }

    private func forgetMemory(keepingDataVersion: Bool) {
        memory.withLock { memory in
            memory = WriterMemory(dataVersion: keepingDataVersion ? memory.dataVersion : nil)
        }
    }

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
