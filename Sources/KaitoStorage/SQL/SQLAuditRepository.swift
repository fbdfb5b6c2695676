import Foundation
import KaitoCore
import SQLKit

struct SQLAuditRepository: AuditRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport
    /// The heads this server remembers, shared by its units of work and its code-read batches (the batcher on
    /// PostgreSQL, the appender on SQLite); nil where none are kept (operator commands, tests of a bare session).
    var heads: ChainHeads? = nil
    /// The chains this session's transaction holds.
    let held = HeldChains()

    func lockHead(organizationID: String) async throws -> AuditChainState {
        try await db.raw("""
            INSERT INTO audit_heads (org_id, seq, hash, anchor_seq, anchor_hash, keyed_from)
            VALUES (\(bind: organizationID), 0, \(bind: AuditEvent.genesisHash), 0, \(bind: AuditEvent.genesisHash), 0)
            ON CONFLICT (org_id) DO NOTHING
            """).run()
        let row = try await db.raw("""
            SELECT * FROM audit_heads WHERE org_id = \(bind: organizationID)\(unsafeRaw: dialect.rowLockSuffix)
            """).first()
        guard let row else { throw KaitoError(.unavailable, "The audit chain head is missing.") }
        held.insert(organizationID)
        return try Self.decodeState(row)
    }

    func store(_ state: AuditChainState) async throws {
        // A state stored otherwise than by `append` (a prune's anchor, keying a legacy chain) is not remembered.
        heads?[state.organizationID] = nil
        try await db.raw(Self.storeStatement(state)).run()
    }

    func withRememberedHead<T: Sendable>(
        organizationID: String, _ body: @Sendable ((state: AuditChainState, trusted: Bool)?) async throws -> T
    ) async throws -> T {
        guard let heads else { return try await body(nil) }
        // A transaction that holds the head already (a second event of one unit) must not wait for a turn: the one
        // waiting in its turn may be waiting for this transaction's commit.
        if held.contains(organizationID) { return try await body(heads[organizationID]) }
        return try await heads.withTurn(organizationID: organizationID) { try await body(heads[organizationID]) }
    }

    func append(
        _ events: [AuditEvent], deliveries: [WebhookDelivery], from: AuditChainState, to: AuditChainState, trusted: Bool
    ) async throws -> Bool {
        let moved: Bool
        if dialect.modifiesInCTEs {
            moved = try await db.raw(Self.appendStatement(from: from, to: to, events: events, deliveries: deliveries))
                .first()?.decode(column: "moved", as: Int64.self) == 1
        } else {
            moved = try await db.raw(Self.storeStatement(to) + " AND " + Self.isStored(from) + " RETURNING org_id").first() != nil
            if moved {
                try await insert(events)
                if !deliveries.isEmpty { try await db.raw(SQLWebhookRepository.deliveryInsert(deliveries)).run() }
            }
        }
        heads?[to.organizationID] = moved ? (to, trusted) : nil
        if moved { held.insert(to.organizationID) }
        return moved
    }

    /// One statement (PostgreSQL: data-modifying `WITH`): move the head from `head` (the whole stored state: a prune
    /// moves the anchor) to `state`; only if it moved, insert `events` and `deliveries`. Returns one row, `moved`: 1 or 0.
    static func appendStatement(from head: AuditChainState, to state: AuditChainState, events: [AuditEvent], deliveries: [WebhookDelivery]) -> SQLQueryString {
        var statement: SQLQueryString = """
            WITH moved AS (
                \(storeStatement(state)) AND \(isStored(head))
                RETURNING org_id
            ), events AS (
                INSERT INTO audit_events (\(unsafeRaw: eventColumns))
                SELECT * FROM (VALUES \(eventRows(events))) AS rows
                WHERE EXISTS (SELECT 1 FROM moved)
            )
            """
        if !deliveries.isEmpty {
            statement = statement + """
                , deliveries AS (
                    \(SQLWebhookRepository.deliveryInsert(deliveries, onlyIf: "EXISTS (SELECT 1 FROM moved)"))
                )
                """
        }
        return statement + " SELECT COUNT(*) AS moved FROM moved"
    }

    func state(organizationID: String) async throws -> AuditChainState {
        guard let row = try await db.raw("SELECT * FROM audit_heads WHERE org_id = \(bind: organizationID)").first() else {
            return .genesis(organizationID)
        }
        return try Self.decodeState(row)
    }

    static func decodeState(_ row: any SQLRow) throws -> AuditChainState {
        AuditChainState(
            organizationID: try row.string("org_id"),
            anchor: AuditHead(seq: try row.int("anchor_seq"), hash: try row.string("anchor_hash")),
            head: AuditHead(seq: try row.int("seq"), hash: try row.string("hash")),
            keyedFrom: try row.int("keyed_from"), tag: try row.optionalString("tag"))
    }

    func insert(_ event: AuditEvent) async throws {
        try await insert([event])
    }

    /// Inserts `events` with one statement per hundred.
    func insert(_ events: [AuditEvent]) async throws {
        for start in stride(from: 0, to: events.count, by: 100) {
            let statement = Self.insertStatement(events[start..<min(start + 100, events.count)])
            try await dialect.mappingConflict("The audit event already exists.") { try await db.raw(statement).run() }
        }
    }

    static func insertStatement(_ events: ArraySlice<AuditEvent>) -> SQLQueryString {
        """
        INSERT INTO audit_events (\(unsafeRaw: eventColumns)) VALUES \(eventRows(events))
        """
    }

    /// The columns of `audit_events` in the order `eventRows` writes them.
    static let eventColumns = """
        id, org_id, seq, at, actor_type, actor_id, actor_name, action, target_type, target_id, outcome, reason, ip, user_agent,
        request_id, flagged, prev_hash, hash, occurrences
        """

    /// `events` as rows of bound values, comma-separated, for a `VALUES` list.
    static func eventRows(_ events: some Sequence<AuditEvent>) -> SQLQueryString {
        events.map { event -> SQLQueryString in
            """
            (\(bind: event.id), \(bind: event.organizationID), \(bind: event.seq), \(bind: event.at.storedSeconds),
             \(bind: event.actor.type), \(bind: event.actor.id), \(bind: event.actor.name), \(bind: event.action.rawValue),
             \(bind: event.target?.type), \(bind: event.target?.id), \(bind: event.outcome.rawValue), \(bind: event.reason),
             \(bind: event.ip), \(bind: event.userAgent), \(bind: event.requestID), \(bind: event.flagged ? 1 : 0),
             \(bind: event.prevHash), \(bind: event.hash), \(bind: event.count == 1 ? nil : event.count))
            """
        }.joined(separator: ", ")
    }

    /// A condition that holds for the stored row of `state`'s chain only while it is exactly `state`.
    static func isStored(_ state: AuditChainState) -> SQLQueryString {
        """
        seq = \(bind: state.head.seq) AND hash = \(bind: state.head.hash) AND anchor_seq = \(bind: state.anchor.seq)
        AND anchor_hash = \(bind: state.anchor.hash) AND keyed_from = \(bind: state.keyedFrom)
        AND tag IS NOT DISTINCT FROM \(bind: state.tag)
        """
    }

    static func storeStatement(_ state: AuditChainState) -> SQLQueryString {
        """
        UPDATE audit_heads SET seq = \(bind: state.head.seq), hash = \(bind: state.head.hash),
            anchor_seq = \(bind: state.anchor.seq), anchor_hash = \(bind: state.anchor.hash),
            keyed_from = \(bind: state.keyedFrom), tag = \(bind: state.tag)
        WHERE org_id = \(bind: state.organizationID)
        """
    }

    func activity(organizationID: String, since: Date) async throws -> [ActivityCount] {
        try await db.raw("""
            SELECT actor_id, target_id, outcome, at / 3600 AS hour, CAST(SUM(COALESCE(occurrences, 1)) AS BIGINT) AS n FROM audit_events
            WHERE org_id = \(bind: organizationID) AND at >= \(bind: since.storedSeconds) AND (target_type IS NULL OR target_type = 'token')
                AND (action = \(bind: AuditAction.tokenCodeRead.rawValue) OR outcome = \(bind: AuditEvent.Outcome.denied.rawValue))
            GROUP BY actor_id, target_id, outcome, at / 3600
            """).all().map { row in
            ActivityCount(
                keyID: try row.string("actor_id"), tokenSlug: try row.optionalString("target_id"),
                denied: try row.string("outcome") == AuditEvent.Outcome.denied.rawValue, hour: try row.int("hour"), count: try row.int("n"))
        }
    }

    func list(organizationID: String, filter: AuditFilter, beforeSeq: Int?, limit: Int) async throws -> [AuditEvent] {
        var query = filtered(organizationID: organizationID, filter)
        if let beforeSeq { query = query.where("seq", .lessThan, beforeSeq) }
        return try await query.orderBy("seq", .descending).limit(limit).all().map(Self.decode)
    }

    func chain(organizationID: String, filter: AuditFilter, afterSeq: Int, limit: Int) async throws -> [AuditEvent] {
        try await filtered(organizationID: organizationID, filter).where("seq", .greaterThan, afterSeq)
            .orderBy("seq", .ascending).limit(limit).all().map(Self.decode)
    }

    func organizationIDs() async throws -> [String] {
        // Every organisation, and every chain even without one: deleting a head row must not hide a chain from verify.
        try await db.raw("""
            SELECT id AS org_id FROM organizations UNION SELECT org_id FROM audit_heads UNION SELECT org_id FROM audit_events
            ORDER BY org_id
            """).all().map { try $0.string("org_id") }
    }

    func prune(organizationID: String, olderThan cutoff: Date) async throws -> (deleted: Int, anchor: AuditHead?) {
        guard let last = try await db.raw("""
            SELECT seq, hash FROM audit_events WHERE org_id = \(bind: organizationID) AND at < \(bind: cutoff.storedSeconds)
            ORDER BY seq DESC LIMIT 1
            """).first() else { return (0, nil) }
        let anchor = AuditHead(seq: try last.int("seq"), hash: try last.string("hash"))
        let deleted = try await db.raw("""
            DELETE FROM audit_events WHERE org_id = \(bind: organizationID) AND seq <= \(bind: anchor.seq) RETURNING seq
            """).all().count
        return (deleted, anchor)
    }

    private func filtered(organizationID: String, _ filter: AuditFilter) -> SQLSelectBuilder {
        var query = db.select().column("*").from("audit_events").where("org_id", .equal, organizationID)
        if let action = filter.action {
            if action.hasSuffix(".*") {
                query = query.where(SQLLikePrefix(column: "action", prefix: String(action.dropLast())))
            } else {
                query = query.where("action", .equal, action)
            }
        }
        if let actor = filter.actorID { query = query.where("actor_id", .equal, actor) }
        if let target = filter.targetID { query = query.where("target_id", .equal, target) }
        if let outcome = filter.outcome { query = query.where("outcome", .equal, outcome.rawValue) }
        if let flagged = filter.flagged { query = query.where("flagged", .equal, flagged ? 1 : 0) }
        if let since = filter.since { query = query.where("at", .greaterThanOrEqual, since.storedSeconds) }
        if let until = filter.until { query = query.where("at", .lessThan, until.storedSeconds) }
        return query
    }

    static func decode(_ row: any SQLRow) throws -> AuditEvent {
        let targetType = try row.optionalString("target_type")
        let targetID = try row.optionalString("target_id")
        return AuditEvent(
            id: try row.string("id"), organizationID: try row.string("org_id"), seq: try row.int("seq"),
            at: try row.date("at"),
            actor: .init(type: try row.string("actor_type"), id: try row.string("actor_id"), name: try row.optionalString("actor_name")),
            action: try row.value("action", as: AuditAction.self),
            target: targetType.flatMap { type in targetID.map { AuditEvent.Target(type: type, id: $0) } },
            outcome: try row.value("outcome", as: AuditEvent.Outcome.self),
            reason: try row.optionalString("reason"), ip: try row.optionalString("ip"),
            userAgent: try row.optionalString("user_agent"), requestID: try row.optionalString("request_id"),
            flagged: try row.int("flagged") != 0, prevHash: try row.string("prev_hash"), hash: try row.string("hash"),
            count: try row.optionalInt("occurrences") ?? 1
        )
    }
}
