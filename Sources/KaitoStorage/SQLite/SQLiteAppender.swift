import CKaitoSQLite
import Foundation
import KaitoCore
import NIOPosix

/// Writes batches of audit events that are their requests' only write (a code read) in one hop to a thread of its
/// own, through SQLite's C API with statements prepared once: `BEGIN IMMEDIATE`, `PRAGMA data_version`, one `INSERT`
/// per event (and per delivery of a subscribed endpoint), one conditional `UPDATE` per chain head, `COMMIT` (an fsync:
/// `synchronous = FULL`). Through sqlite-nio each of those statements was a round trip between an event loop and a
/// thread pool, prepared again every time; here the batch costs one hand-off.
///
/// `GroupCommit` calls it from its drain loop, between the units of work it runs on the sqlite-nio writer, so that
/// the two connections never write at the same time. Because this process writes the database only through these
/// two, the appender keeps each organisation's chain state and `audit.event` subscribers in memory. It forgets them
/// when a unit of work committed since its last batch (`unitsCommitted`: a unit may have moved a chain or changed an
/// endpoint), when another process wrote the database (`PRAGMA data_version` changed with no unit of ours in between;
/// the storage's caches are then emptied too), and when a batch fails. A chain head that is not the one it knows
/// makes the batch fail rather than fork the chain.
final class SQLiteAppender: @unchecked Sendable {
    /// A batch failed; nothing of it was kept.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// A chain's stored head was not the one the writer knew: the batch fails rather than fork the chain.
    struct ChainMoved: Error {}

    /// One event to write: what `AuditLog` links, and the log that links it.
    struct Item {
        let pending: PendingAuditEvent
        let log: AuditLog
    }

    // Touched only on `thread` (one batch at a time): the connection, its statements and what the writer knows.
    private let db: OpaquePointer
    private var statements: [Statement: OpaquePointer] = [:]
    private var dataVersion: Int64?
    private var heads: [String: (state: AuditChainState, trusted: Bool)] = [:]
    private var subscribers: [String: [WebhookEndpoint]] = [:]
    private let thread: NIOThreadPool
    /// Called (on the appender's thread) when another process is seen to have written the database.
    private let externalChange: @Sendable () -> Void

    private enum Statement: String, CaseIterable {
        case begin = "BEGIN IMMEDIATE"
        case commit = "COMMIT"
        case rollback = "ROLLBACK"
        case dataVersion = "PRAGMA data_version"
        case ensureHead = """
            INSERT INTO audit_heads (org_id, seq, hash, anchor_seq, anchor_hash, keyed_from) VALUES (?1, 0, ?2, 0, ?2, 0)
            ON CONFLICT (org_id) DO NOTHING
            """
        case selectHead = "SELECT seq, hash, anchor_seq, anchor_hash, keyed_from, tag FROM audit_heads WHERE org_id = ?1"
        case selectSubscribers = "SELECT id, topics, audit_actions FROM webhook_endpoints WHERE org_id = ?1 AND disabled_at IS NULL"
        case insertEvent = """
            INSERT INTO audit_events (id, org_id, seq, at, actor_type, actor_id, actor_name, action, target_type, target_id,
                                      outcome, reason, ip, user_agent, request_id, flagged, prev_hash, hash, occurrences)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
            """
        case insertDelivery = """
            INSERT INTO webhook_deliveries (id, org_id, endpoint_id, type, data, created_at, status, attempts, next_attempt_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            """
        case advanceHead = """
            UPDATE audit_heads SET seq = ?1, hash = ?2, anchor_seq = ?3, anchor_hash = ?4, keyed_from = ?5, tag = ?6
            WHERE org_id = ?7 AND seq = ?8 AND hash = ?9
            """
    }

    private init(db: OpaquePointer, thread: NIOThreadPool, externalChange: @escaping @Sendable () -> Void) {
        self.db = db
        self.thread = thread
        self.externalChange = externalChange
    }

    /// Opens a connection of its own to the database at `path` (already migrated, in WAL mode).
    static func open(path: String, busyTimeout: Duration, externalChange: @escaping @Sendable () -> Void) async throws -> SQLiteAppender {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        do {
            return try await thread.runIfActive {
                var handle: OpaquePointer?
                let opened = sqlite_nio_sqlite3_open_v2(path, &handle, KAITO_SQLITE_OPEN_READWRITE | KAITO_SQLITE_OPEN_NOMUTEX, nil)
                guard opened == KAITO_SQLITE_OK, let handle else {
                    if let handle { sqlite_nio_sqlite3_close_v2(handle) }
                    throw Failure(description: "cannot open \(path) for the audit writer (SQLite result \(opened))")
                }
                let appender = SQLiteAppender(db: handle, thread: thread, externalChange: externalChange)
                do {
                    sqlite_nio_sqlite3_busy_timeout(handle, Int32(clamping: busyTimeout.wholeMilliseconds))
                    // Per connection: every commit of this one is durable before its requests are answered.
                    for pragma in ["PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"] { try appender.execute(pragma) }
                    for statement in Statement.allCases { try appender.prepare(statement) }
                } catch {
                    appender.closeOnThread()
                    throw error
                }
                return appender
            }
        } catch {
            try? await thread.shutdownGracefully()
            throw error
        }
    }

    /// Links and writes `items` in one transaction; returns once it has committed. `unitsCommitted`: units of work
    /// committed on the other connection since the last batch.
    func write(_ items: [Item], unitsCommitted: Bool) async throws {
        try await thread.runIfActive { try self.writeOnThread(items, unitsCommitted: unitsCommitted) }
    }

    /// Finalizes the statements and closes the connection.
    func close() async throws {
        try await thread.runIfActive { self.closeOnThread() }
        try await thread.shutdownGracefully()
    }

    private func closeOnThread() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        sqlite_nio_sqlite3_close_v2(db)
    }

    private func writeOnThread(_ items: [Item], unitsCommitted: Bool) throws {
        if unitsCommitted { forget() }
        try run(.begin)
        do {
            try checkExternalChanges(unitsCommitted: unitsCommitted)
            var before: [String: AuditHead] = [:]
            var deliveries: [WebhookDelivery] = []
            for item in items {
                let organizationID = item.pending.organizationID
                var (state, trusted) = try head(organizationID, chain: item.log.chain)
                if before[organizationID] == nil { before[organizationID] = state.head }
                let event = item.log.link(item.pending, to: &state, trusted: trusted)
                heads[organizationID] = (state, trusted)
                try insert(event)
                deliveries += item.log.deliveries(of: event, to: try subscribers(organizationID))
            }
            for delivery in deliveries { try insert(delivery) }
            for (organizationID, head) in before {
                guard let state = heads[organizationID]?.state else { continue }
                try advance(from: head, to: state)
            }
            try run(.commit)
        } catch {
            try? run(.rollback)
            forget()
            throw error
        }
    }

    private func forget() {
        heads = [:]
        subscribers = [:]
    }

    /// Drops what the writer knows if another process has committed since the last batch (and tells the storage,
    /// whose caches then empty too). Read under the batch's write lock: no other writer can commit until it ends.
    private func checkExternalChanges(unitsCommitted: Bool) throws {
        let version = try withStatement(.dataVersion) { statement in
            guard sqlite_nio_sqlite3_step(statement) == KAITO_SQLITE_ROW else { throw failure("PRAGMA data_version") }
            return sqlite_nio_sqlite3_column_int64(statement, 0)
        }
        defer { dataVersion = version }
        // Our own units of work, on the other connection, change it too: then memory was dropped already.
        guard !unitsCommitted, let known = dataVersion, known != version else { return }
        forget()
        externalChange()
    }

    private func head(_ organizationID: String, chain: AuditChainKey) throws -> (AuditChainState, Bool) {
        if let known = heads[organizationID] { return known }
        try withStatement(.ensureHead) { statement in
            bind(statement, 1, organizationID)
            bind(statement, 2, AuditEvent.genesisHash)
            try step(statement, "INSERT INTO audit_heads")
        }
        let state = try withStatement(.selectHead) { statement -> AuditChainState in
            bind(statement, 1, organizationID)
            guard sqlite_nio_sqlite3_step(statement) == KAITO_SQLITE_ROW, let hash = text(statement, 1), let anchorHash = text(statement, 3) else {
                throw failure("SELECT audit_heads")
            }
            return AuditChainState(
                organizationID: organizationID,
                anchor: AuditHead(seq: Int(sqlite_nio_sqlite3_column_int64(statement, 2)), hash: anchorHash),
                head: AuditHead(seq: Int(sqlite_nio_sqlite3_column_int64(statement, 0)), hash: hash),
                keyedFrom: Int(sqlite_nio_sqlite3_column_int64(statement, 4)), tag: text(statement, 5))
        }
        let known = (state, state.isTrusted(by: chain))
        heads[organizationID] = known
        return known
    }

    /// The organisation's enabled endpoints, with what a delivery decision reads of them (id, topics, actions).
    private func subscribers(_ organizationID: String) throws -> [WebhookEndpoint] {
        if let known = subscribers[organizationID] { return known }
        let endpoints = try withStatement(.selectSubscribers) { statement -> [WebhookEndpoint] in
            bind(statement, 1, organizationID)
            var endpoints: [WebhookEndpoint] = []
            while true {
                let result = sqlite_nio_sqlite3_step(statement)
                if result == KAITO_SQLITE_DONE { return endpoints }
                guard result == KAITO_SQLITE_ROW, let id = text(statement, 0) else { throw failure("SELECT webhook_endpoints") }
                let topics = (text(statement, 1) ?? "").split(separator: " ").compactMap { WebhookTopic(rawValue: String($0)) }
                let actions = (text(statement, 2) ?? "").split(separator: " ").map(String.init)
                endpoints.append(WebhookEndpoint(
                    id: id, organizationID: organizationID, url: "", description: nil, topics: topics, auditActions: actions,
                    sealedSecret: [], createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0)))
            }
        }
        subscribers[organizationID] = endpoints
        return endpoints
    }

    private func insert(_ event: AuditEvent) throws {
        try withStatement(.insertEvent) { statement in
            let values: [Value] = [
                .text(event.id), .text(event.organizationID), .integer(Int64(event.seq)), .integer(Timestamp.unixSeconds(event.at)),
                .text(event.actor.type), .text(event.actor.id), .optionalText(event.actor.name), .text(event.action.rawValue),
                .optionalText(event.target?.type), .optionalText(event.target?.id), .text(event.outcome.rawValue),
                .optionalText(event.reason), .optionalText(event.ip), .optionalText(event.userAgent), .optionalText(event.requestID),
                .integer(event.flagged ? 1 : 0), .text(event.prevHash), .text(event.hash), event.count == 1 ? .null : .integer(Int64(event.count)),
            ]
            bind(statement, values)
            try step(statement, "INSERT INTO audit_events")
        }
    }

    private func insert(_ delivery: WebhookDelivery) throws {
        try withStatement(.insertDelivery) { statement in
            bind(statement, [
                .text(delivery.id), .text(delivery.organizationID), .text(delivery.endpointID), .text(delivery.type), .text(delivery.data),
                .integer(Timestamp.unixSeconds(delivery.createdAt)), .text(delivery.status.rawValue), .integer(Int64(delivery.attempts)),
                delivery.nextAttemptAt.map { .integer(Timestamp.unixSeconds($0)) } ?? .null,
            ])
            try step(statement, "INSERT INTO webhook_deliveries")
        }
    }

    private func advance(from head: AuditHead, to state: AuditChainState) throws {
        try withStatement(.advanceHead) { statement in
            bind(statement, [
                .integer(Int64(state.head.seq)), .text(state.head.hash), .integer(Int64(state.anchor.seq)), .text(state.anchor.hash),
                .integer(Int64(state.keyedFrom)), .optionalText(state.tag), .text(state.organizationID), .integer(Int64(head.seq)),
                .text(head.hash),
            ])
            try step(statement, "UPDATE audit_heads")
            guard sqlite_nio_sqlite3_changes(db) == 1 else { throw ChainMoved() }
        }
    }

    // MARK: - The C API

    private enum Value {
        case text(String)
        case optionalText(String?)
        case integer(Int64)
        case null
    }

    private func prepare(_ statement: Statement) throws {
        var prepared: OpaquePointer?
        guard sqlite_nio_sqlite3_prepare_v3(db, statement.rawValue, -1, UInt32(KAITO_SQLITE_PREPARE_PERSISTENT), &prepared, nil) == KAITO_SQLITE_OK,
              let prepared else {
            throw failure("prepare \(statement)")
        }
        statements[statement] = prepared
    }

    private func execute(_ sql: String) throws {
        guard sqlite_nio_sqlite3_exec(db, sql, nil, nil, nil) == KAITO_SQLITE_OK else { throw failure(sql) }
    }

    /// Runs `body` with the prepared `statement`, then resets it and clears its bindings (also when `body` throws).
    private func withStatement<T>(_ statement: Statement, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let prepared = statements[statement] else { throw Failure(description: "statement \(statement) is not prepared") }
        defer {
            sqlite_nio_sqlite3_reset(prepared)
            sqlite_nio_sqlite3_clear_bindings(prepared)
        }
        return try body(prepared)
    }

    private func run(_ statement: Statement) throws {
        try withStatement(statement) { try step($0, statement.rawValue) }
    }

    private func step(_ statement: OpaquePointer, _ what: String) throws {
        let result = sqlite_nio_sqlite3_step(statement)
        guard result == KAITO_SQLITE_DONE || result == KAITO_SQLITE_ROW else { throw failure(what) }
    }

    private func bind(_ statement: OpaquePointer, _ values: [Value]) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            switch value {
            case .text(let text): bind(statement, index, text)
            case .optionalText(let text?): bind(statement, index, text)
            case .optionalText(nil), .null: sqlite_nio_sqlite3_bind_null(statement, index)
            case .integer(let integer): sqlite_nio_sqlite3_bind_int64(statement, index, integer)
            }
        }
    }

    private func bind(_ statement: OpaquePointer, _ index: Int32, _ text: String) {
        // An empty buffer may have no address, which SQLite would bind as NULL.
        guard !text.isEmpty else { return _ = kaito_sqlite_bind_text(statement, index, "", 0) }
        var text = text
        text.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) { kaito_sqlite_bind_text(statement, index, $0.baseAddress, Int32(bytes.count)) }
        }
    }

    private func text(_ statement: OpaquePointer, _ column: Int32) -> String? {
        guard sqlite_nio_sqlite3_column_type(statement, column) != KAITO_SQLITE_NULL,
              let pointer = sqlite_nio_sqlite3_column_text(statement, column) else { return nil }
        return String(cString: pointer)
    }

    private func failure(_ what: String) -> Failure {
        Failure(description: "\(what): \(String(cString: sqlite_nio_sqlite3_errmsg(db)))")
    }
}
