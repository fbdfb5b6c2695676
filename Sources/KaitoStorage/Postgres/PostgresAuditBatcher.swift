import Foundation
import KaitoCore
import SQLKit

/// Group commit of code-read audit events on PostgreSQL, per server: the events that arrive while a batch is being
/// written go together in the next one, one transaction for all of them: read the keys the requests were authorized
/// with (and the organisations' enabled endpoints, unless this server holds them in memory), then lock the heads of
/// the batch's chains (`SELECT ... FOR UPDATE`, in id order), link the events, insert them and move the head in one
/// statement (per chain), insert their deliveries, commit. Each request returns once that commit has. The locks are
/// held for three round trips a batch.
///
/// Servers serialise on a chain's head row only for the few statements of one batch, not once per request. The time
/// spent waiting for those locks is counted (`lockWaitSeconds`, weighted by the requests that waited) so that it can be
/// compared with the time requests take.
///
/// A key changed by another server a moment ago (its notification still on the way) is caught here: a request whose
/// key is not stored as it was authorized gets `StaleCredentials` and writes nothing.
final class PostgresAuditBatcher: Sendable {
    struct Item {
        let pending: PendingAuditEvent
        let log: AuditLog
        let key: APIKey?
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Item] = []
        var running = false
    }

    /// Counters for `/metrics`.
    struct Statistics: Sendable {
        var events = 0
        var batches = 0
        /// Seconds requests spent waiting for chain-head locks: each batch's wait times the requests in it.
        var lockWaitSeconds = 0.0
        /// Seconds from a request's arrival at the batcher to its commit, summed over requests.
        var appendSeconds = 0.0
    }

    static let maximumBatch = 256

    private let state = Locked(State())
    private let counts = Locked(Statistics())
    /// Runs one transaction on a pooled connection (the storage's own, with its deadline and error mapping).
    private let transaction: @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> [Result<Void, any Error>]) async throws -> [Result<Void, any Error>]
    /// An organisation's enabled endpoints, from the server's memory when it may be used (else read in `session`).
    private let subscribers: @Sendable (_ organizationID: String, _ session: SQLStorageSession) async throws -> [WebhookEndpoint]

    init(
        transaction: @escaping @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> [Result<Void, any Error>]) async throws -> [Result<Void, any Error>],
        subscribers: @escaping @Sendable (_ organizationID: String, _ session: SQLStorageSession) async throws -> [WebhookEndpoint]
    ) {
        self.transaction = transaction
        self.subscribers = subscribers
    }

    var statistics: Statistics { counts.withLock { $0 } }

    func append(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws {
        let arrived = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - arrived
            counts.withLock { $0.appendSeconds += Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
        }
        try await withCheckedThrowingContinuation { continuation in
            let starts = state.withLock { state -> Bool in
                state.queue.append(Item(pending: pending, log: log, key: key, continuation: continuation))
                guard !state.running else { return false }
                state.running = true
                return true
            }
            if starts { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Item] in
                let batch = Array(state.queue.prefix(Self.maximumBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let outcomes = try await transaction { session in try await self.write(batch, session) }
                for (item, outcome) in zip(batch, outcomes) { item.continuation.resume(with: outcome) }
            } catch {
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
    }

    /// The batch's statements; returns each item's outcome (an item whose key went stale writes nothing).
    private func write(_ batch: [Item], _ session: SQLStorageSession) async throws -> [Result<Void, any Error>] {
        let db = session.database
        let organizations = Array(Set(batch.map(\.pending.organizationID))).sorted()
        let keyIDs = Array(Set(batch.compactMap { $0.key?.id }))
        var stored: [String: APIKey] = [:]
        if !keyIDs.isEmpty {
            for row in try await db.raw("SELECT * FROM api_keys WHERE id IN (\(binds: keyIDs))").all() {
                let key = try SQLAPIKeyRepository.decode(row)
                stored[key.id] = key
            }
        }
        var subscribers: [String: [WebhookEndpoint]] = [:]
        for organizationID in organizations { subscribers[organizationID] = try await self.subscribers(organizationID, session) }

        let lockStart = ContinuousClock.now
        var heads = try await lockHeads(organizations, db)
        let missing = organizations.filter { heads[$0] == nil }
        if !missing.isEmpty {
            // A chain's first event: its head row is created, then locked like the others.
            for organizationID in missing { _ = try await session.audit.lockHead(organizationID: organizationID) }
            heads.merge(try await lockHeads(missing, db)) { $1 }
        }
        let waited = ContinuousClock.now - lockStart

        var outcomes: [Result<Void, any Error>] = []
        var before: [String: AuditHead] = [:]
        var events: [AuditEvent] = []
        var deliveries: [WebhookDelivery] = []
        for item in batch {
            if let key = item.key, !(stored[key.id].map(key.authorizesAlike) ?? false) {
                outcomes.append(.failure(StaleCredentials()))
                continue
            }
            let organizationID = item.pending.organizationID
            guard var state = heads[organizationID] else { throw KaitoError(.unavailable, "The audit chain head is missing.") }
            if before[organizationID] == nil { before[organizationID] = state.head }
            let event = item.log.link(item.pending, to: &state)
            heads[organizationID] = state
            events.append(event)
            deliveries += item.log.deliveries(of: event, to: subscribers[organizationID] ?? [])
            outcomes.append(.success(()))
        }
        let audit = SQLAuditRepository(db: db, dialect: PostgresDialectSupport())
        for organizationID in before.keys.sorted() {
            guard let state = heads[organizationID] else { continue }
            try await audit.insert(events.filter { $0.organizationID == organizationID }, storing: state)
        }
        for delivery in deliveries { try await session.webhooks.insertDelivery(delivery) }
        counts.withLock { counts in
            counts.events += events.count
            counts.batches += 1
            counts.lockWaitSeconds += (Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18) * Double(batch.count)
        }
        return outcomes
    }

    private func lockHeads(_ organizations: [String], _ db: any SQLDatabase) async throws -> [String: AuditChainState] {
        var heads: [String: AuditChainState] = [:]
        for row in try await db.raw("""
            SELECT * FROM audit_heads WHERE org_id IN (\(binds: organizations)) ORDER BY org_id FOR UPDATE
            """).all() {
            let state = try SQLAuditRepository.decodeState(row)
            heads[state.organizationID] = state
        }
        return heads
    }
}
