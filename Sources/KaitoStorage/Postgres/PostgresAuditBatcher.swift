import Foundation
import KaitoCore
import NIOConcurrencyHelpers
import SQLKit

/// Group commit of code-read audit events on PostgreSQL, per server. The events that arrive while a batch is being
/// written go together in the next one, in two round trips:
///
/// 1. the keys the batch's requests were authorized with are read (a key another server changed a moment ago, its
///    notification still on the way, fails the check: `StaleCredentials`, and that request writes nothing);
/// 2. per chain, one statement, its own transaction: move the chain's head from the head this server last saw to the
///    batch's last event, *and only if it moved*, insert the events (and their deliveries). Links are computed here
///    from the head this server knows; if another server (or a unit of work whose transaction rolled back after it
///    wrote the state this server remembers) moved the head meanwhile, the statement changes nothing, the head is
///    read again and the events are linked again.
///
/// So a server alone on a chain never holds its head across round trips, and the head moves only from the exact state
/// the events were linked to: never a fork. When another server's append voids a statement, the chain counts as
/// contended for ten seconds, and its batches then lock the head first (`SELECT ... FOR UPDATE` in a transaction of their
/// own: two servers busy on one chain take turns rather than void each other's work). The seconds requests spend on
/// voided attempts and waiting for that lock are counted (`contentionSeconds`) to compare with the time requests
/// take. Each request returns once its chain's statement has committed.
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
        /// Seconds requests spent on attempts another server's append made void (each attempt's time times its
        /// requests), waits for the head row's lock included.
        var contentionSeconds = 0.0
        /// Seconds from a request's arrival at the batcher to its commit, summed over requests.
        var appendSeconds = 0.0
    }

    static let maximumBatch = 256
    /// Optimistic attempts at a chain before the batch takes its head's lock for the length of a transaction (which
    /// cannot lose: a batch always ends).
    static let optimisticAttempts = 3

    private let state = NIOLockedValueBox(State())
    private let counts = NIOLockedValueBox(Statistics())
    /// The chain states this server last wrote or read (shared with its units of work, which move heads too).
    private let heads: ChainHeads
    /// Chains another server appended to lately, until when: their batches take the head's lock at once (two
    /// servers busy on one chain would otherwise void each other's statements in turn).
    private let contended = NIOLockedValueBox<[String: ContinuousClock.Instant]>([:])
    static let contentionMemory: Duration = .seconds(10)
    /// Runs `body` on a pooled connection outside any transaction (the storage's own, with its deadline and error
    /// mapping): each statement commits on its own.
    private let connection: @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> [Result<Void, any Error>]) async throws -> [Result<Void, any Error>]
    /// Runs `body` in a transaction of its own (the storage's: rolled back, or its connection closed, on failure).
    private let transaction: @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> Bool) async throws -> Bool
    /// An organisation's enabled endpoints, from the server's memory when it may be used (else read in `session`).
    private let subscribers: @Sendable (_ organizationID: String, _ session: SQLStorageSession) async throws -> [WebhookEndpoint]

    init(
        heads: ChainHeads,
        connection: @escaping @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> [Result<Void, any Error>]) async throws -> [Result<Void, any Error>],
        transaction: @escaping @Sendable (@escaping @Sendable (SQLStorageSession) async throws -> Bool) async throws -> Bool,
        subscribers: @escaping @Sendable (_ organizationID: String, _ session: SQLStorageSession) async throws -> [WebhookEndpoint]
    ) {
        self.heads = heads
        self.connection = connection
        self.transaction = transaction
        self.subscribers = subscribers
    }

    var statistics: Statistics { counts.withLockedValue { $0 } }

    func append(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws {
        let arrived = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - arrived
            counts.withLockedValue { $0.appendSeconds += elapsed.inSeconds }
        }
        try await withCheckedThrowingContinuation { continuation in
            let starts = state.withLockedValue { state -> Bool in
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
            let batch = state.withLockedValue { state -> [Item] in
                let batch = Array(state.queue.prefix(Self.maximumBatch))
                state.queue.removeFirst(batch.count)
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let outcomes = try await connection { session in try await self.write(batch, session) }
                for (item, outcome) in zip(batch, outcomes) { item.continuation.resume(with: outcome) }
            } catch {
                // The chains this server knew may have moved or not: read them again next time.
                heads.forgetAll()
                for item in batch { item.continuation.resume(throwing: error) }
            }
        }
    }

    /// The batch's statements; returns each item's outcome.
    private func write(_ batch: [Item], _ session: SQLStorageSession) async throws -> [Result<Void, any Error>] {
        let db = session.database
        let keyIDs = Array(Set(batch.compactMap { $0.key?.id }))
        var stored: [String: APIKey] = [:]
        if !keyIDs.isEmpty {
            for row in try await db.raw("SELECT * FROM api_keys WHERE id IN (\(binds: keyIDs))").all() {
                let key = try SQLAPIKeyRepository.decode(row)
                stored[key.id] = key
            }
        }
        var outcomes = [Result<Void, any Error>?](repeating: nil, count: batch.count)
        var chains: [String: [Int]] = [:]
        for (index, item) in batch.enumerated() {
            if let key = item.key, !(stored[key.id].map(key.authorizesAlike) ?? false) {
                outcomes[index] = .failure(StaleCredentials())
            } else {
                chains[item.pending.organizationID, default: []].append(index)
            }
        }
        for (organizationID, indices) in chains.sorted(by: { $0.key < $1.key }) {
            let items = indices.map { batch[$0] }
            try await append(items, organizationID: organizationID, session)
            for index in indices { outcomes[index] = .success(()) }
        }
        counts.withLockedValue { $0.batches += 1 }
        return outcomes.map { $0 ?? .success(()) }
    }

    /// Links `items` to the chain of `organizationID` and writes them with the head's move, again until the head
    /// this server linked to is the stored one.
    private func append(_ items: [Item], organizationID: String, _ session: SQLStorageSession) async throws {
        let endpoints = try await subscribers(organizationID, session)
        // In the chain's turn, as this server's units of work: one writer at a time per chain and server.
        try await heads.withTurn(organizationID: organizationID) {
            try await append(items, organizationID: organizationID, endpoints: endpoints, session)
        }
    }

    private func append(_ items: [Item], organizationID: String, endpoints: [WebhookEndpoint], _ session: SQLStorageSession) async throws {
        var known = heads[organizationID]
        let lockAtOnce = contended.withLockedValue { $0[organizationID].map { ContinuousClock.now < $0 } ?? false }
        do {
            for attempt in 0... {
                if lockAtOnce || attempt >= Self.optimisticAttempts {
                    // In a transaction of its own, the head locked first: this attempt cannot lose.
                    let written = try await transaction { locked in
                        try await self.attempt(items, organizationID: organizationID, known: nil, endpoints: endpoints, locked: true, locked)
                    }
                    guard written else { throw KaitoError(.unavailable, "The audit chain head is missing.") }
                    return
                }
                if try await self.attempt(items, organizationID: organizationID, known: known, endpoints: endpoints, locked: false, session) {
                    return
                }
                known = nil
            }
        } catch {
            heads[organizationID] = nil
            throw error
        }
    }

    /// One attempt: link `items` to `known` (read if nil; locked with `locked`, inside the caller's transaction) and
    /// send the one statement. Returns whether it was written; false when another append had moved the head.
    private func attempt(
        _ items: [Item], organizationID: String, known: (state: AuditChainState, trusted: Bool)?, endpoints: [WebhookEndpoint],
        locked: Bool, _ session: SQLStorageSession
    ) async throws -> Bool {
        let head: AuditChainState, trusted: Bool
        if let known {
            (head, trusted) = known
        } else {
            // Created if it is the chain's first event; read without a lock (the move below is conditional), or, on
            // a contended chain, locked until the caller's transaction ends (the wait for it is counted).
            let asked = ContinuousClock.now
            head = try await session.audit.lockHead(organizationID: organizationID)
            if locked { counts.withLockedValue { $0.contentionSeconds += (ContinuousClock.now - asked).inSeconds * Double(items.count) } }
            trusted = head.isTrusted(by: items[0].log.chain)
        }
        var state = head
        let log = items[0].log
        let events = log.link(items.map(\.pending), to: &state, trusted: trusted)
        let deliveries = events.flatMap { log.deliveries(of: $0, to: endpoints) }
        let began = ContinuousClock.now
        guard try await session.audit.append(events, deliveries: deliveries, from: head, to: state, trusted: trusted) else {
            // Another server (or a unit of work) moved the head: this attempt wrote nothing.
            let lost = ContinuousClock.now - began
            counts.withLockedValue { $0.contentionSeconds += lost.inSeconds * Double(items.count) }
            contended.withLockedValue { $0[organizationID] = ContinuousClock.now + Self.contentionMemory }
            return false
        }
        counts.withLockedValue { $0.events += events.count }
        return true
    }
}
