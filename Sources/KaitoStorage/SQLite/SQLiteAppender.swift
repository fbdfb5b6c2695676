import Foundation
import KaitoCore

/// Writes the audit events that are their requests' only write (a code read) for `GroupCommit`, inside its batch's
/// transaction on the writer connection, without a savepoint and without reading the chain: the writer connection is
/// this process's only writer, so the appender keeps each organisation's chain state and `audit.event` subscribers in
/// memory, links the batch's events there, inserts them (and a delivery for each subscribed endpoint) with statements
/// prepared once, and moves each chain's stored head once per batch, on the condition that it is still the head it
/// knows (a head moved by anyone else makes the batch fail rather than fork the chain).
///
/// Its chain states are shared with the batch's units of work (`ChainHeads`): a unit that moves a chain writes the new
/// state there. It forgets the subscribers after any unit of work (which may have changed an endpoint), and everything
/// when a unit fails (it may have moved a chain first), when another process wrote the database (`PRAGMA
/// data_version`, read under the batch's write lock; the storage's caches are then emptied too), and when a batch
/// fails. Runs on the writer's thread only.
final class SQLiteAppender: @unchecked Sendable {
    /// A chain's stored head was not the one the writer knew: the batch fails rather than fork the chain.
    struct ChainMoved: Error {}

    /// One event to write: what `AuditLog` links, and the log that links it.
    struct Item {
        let pending: PendingAuditEvent
        let log: AuditLog
    }

    private let db: RawSQLiteDatabase
    private var dataVersion: Int64?
    /// The chain states the writer last wrote, shared with the units of work of its batches (which link their events
    /// to them too: see `AuditLog.append`).
    let heads = ChainHeads(takesTurns: false)
    private var subscribers: [String: [WebhookEndpoint]] = [:]
    /// Called when another process is seen to have written the database.
    private let externalChange: @Sendable () -> Void

    init(db: RawSQLiteDatabase, externalChange: @escaping @Sendable () -> Void) {
        self.db = db
        self.externalChange = externalChange
    }

    /// Drops what the writer knows if another process has committed since the last batch (and tells the storage,
    /// whose caches then empty too). Call inside the batch's transaction: no other writer can commit until it ends.
    func checkExternalChanges() throws {
        var version: Int64?
        try db.run("PRAGMA data_version", []) { row in version = try? row.decode(column: "data_version", as: Int64.self) }
        defer { dataVersion = version }
        guard let known = dataVersion, known != version else { return }
        forget()
        externalChange()
    }

    /// Drops the chains and subscribers it knows (a unit of work failed after it may have moved a chain; a batch
    /// failed; another process wrote).
    func forget() {
        heads.forgetAll()
        subscribers = [:]
    }

    /// Drops the subscribers it knows (a unit of work may have changed an endpoint). The chains stay: a unit that
    /// moves one writes its new state here (`AuditLog.append`), and any other move of a head forgets that chain.
    func forgetSubscribers() {
        subscribers = [:]
    }

    /// Links and writes `items` in the current transaction. If it throws, the caller rolls the transaction back and
    /// calls `forget`.
    func write(_ items: [Item]) throws {
        // Each chain's events in arrival order, linked as one batch: its stored head moves (and is tagged) once.
        var deliveries: [WebhookDelivery] = []
        for (organizationID, chain) in Dictionary(grouping: items, by: \.pending.organizationID) {
            let log = chain[0].log
            let (head, trusted) = try head(organizationID, chain: log.chain)
            var state = head
            let events = log.link(chain.map(\.pending), to: &state, trusted: trusted)
            let endpoints = try subscribers(organizationID)
            for event in events {
                try insert(event)
                deliveries += log.deliveries(of: event, to: endpoints)
            }
            try advance(from: head, to: state)
            heads[organizationID] = (state, trusted)
        }
        for delivery in deliveries { try insert(delivery) }
    }

    private func head(_ organizationID: String, chain: AuditChainKey) throws -> (AuditChainState, Bool) {
        if let known = heads[organizationID] { return known }
        try db.run("""
            INSERT INTO audit_heads (org_id, seq, hash, anchor_seq, anchor_hash, keyed_from) VALUES (?1, 0, ?2, 0, ?2, 0)
            ON CONFLICT (org_id) DO NOTHING
            """, [organizationID, AuditEvent.genesisHash])
        var state: AuditChainState?
        var failure: (any Error)?
        try db.run("SELECT * FROM audit_heads WHERE org_id = ?1", [organizationID]) { row in
            do { state = try SQLAuditRepository.decodeState(row) } catch { failure = error }
        }
        if let failure { throw failure }
        guard let state else { throw KaitoError(.unavailable, "The audit chain head is missing.") }
        let known = (state, state.isTrusted(by: chain))
        heads[organizationID] = known
        return known
    }

    /// The organisation's enabled endpoints, with what a delivery decision reads of them (id, topics, actions).
    private func subscribers(_ organizationID: String) throws -> [WebhookEndpoint] {
        if let known = subscribers[organizationID] { return known }
        var endpoints: [WebhookEndpoint] = []
        var failure: (any Error)?
        try db.run("SELECT * FROM webhook_endpoints WHERE org_id = ?1 AND disabled_at IS NULL", [organizationID]) { row in
            do { endpoints.append(try SQLWebhookRepository.decodeEndpoint(row)) } catch { failure = error }
        }
        if let failure { throw failure }
        subscribers[organizationID] = endpoints
        return endpoints
    }

    /// Made once: the writer finds its prepared statement by this text, for every event.
    private static let insertEvent = """
        INSERT INTO audit_events (\(SQLAuditRepository.eventColumns))
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
        """

    private func insert(_ event: AuditEvent) throws {
        try db.run(Self.insertEvent, values: [
            .text(event.id), .text(event.organizationID), .integer(Int64(event.seq)), .integer(Timestamp.unixSeconds(event.at)),
            .text(event.actor.type), .text(event.actor.id), .text(event.actor.name), .text(event.action.rawValue),
            .text(event.target?.type), .text(event.target?.id), .text(event.outcome.rawValue), .text(event.reason),
            .text(event.ip), .text(event.userAgent), .text(event.requestID), .integer(event.flagged ? 1 : 0), .text(event.prevHash),
            .text(event.hash), event.count == 1 ? .null : .integer(Int64(event.count)),
        ])
    }

    private func insert(_ delivery: WebhookDelivery) throws {
        try db.run("""
            INSERT INTO webhook_deliveries (id, org_id, endpoint_id, type, data, created_at, status, attempts, next_attempt_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """, values: [
            .text(delivery.id), .text(delivery.organizationID), .text(delivery.endpointID), .text(delivery.type), .text(delivery.data),
            .integer(Timestamp.unixSeconds(delivery.createdAt)), .text(delivery.status.rawValue), .integer(Int64(delivery.attempts)),
            delivery.nextAttemptAt.map { .integer(Timestamp.unixSeconds($0)) } ?? .null,
        ])
    }

    /// `head`: the whole stored state the events were linked to (a prune moves the anchor, not the head).
    private func advance(from head: AuditChainState, to state: AuditChainState) throws {
        try db.run("""
            UPDATE audit_heads SET seq = ?1, hash = ?2, anchor_seq = ?3, anchor_hash = ?4, keyed_from = ?5, tag = ?6
            WHERE org_id = ?7 AND seq = ?8 AND hash = ?9 AND anchor_seq = ?10 AND anchor_hash = ?11 AND keyed_from = ?12
              AND tag IS ?13
            """, values: [
            .integer(Int64(state.head.seq)), .text(state.head.hash), .integer(Int64(state.anchor.seq)), .text(state.anchor.hash),
            .integer(Int64(state.keyedFrom)), .text(state.tag), .text(state.organizationID), .integer(Int64(head.head.seq)),
            .text(head.head.hash), .integer(Int64(head.anchor.seq)), .text(head.anchor.hash), .integer(Int64(head.keyedFrom)),
            .text(head.tag),
        ])
        guard db.changes == 1 else { throw ChainMoved() }
    }
}
