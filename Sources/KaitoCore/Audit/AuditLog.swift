import Foundation

/// Appends events to an organisation's keyed hash chain inside the caller's transaction. The chain's head row is read
/// with a lock (`FOR UPDATE` on PostgreSQL; SQLite's single writer serialises it), so concurrent writers on any
/// number of servers extend one chain without forks; each event's hash and the head's tag are HMACs under the chain
/// key (`AuditChainKey`), which the database does not hold.
public struct AuditLog: Sendable {
    let random: any RandomSource
    public let chain: AuditChainKey

    public init(random: any RandomSource, chain: AuditChainKey) {
        self.random = random
        self.chain = chain
    }

    /// Writes one event for `record` by `actor` in `session`'s transaction.
    /// - Throws: whatever the storage throws; the caller's transaction then rolls back.
    @discardableResult
    public func append(
        _ record: AuditRecord, actor: AuditEvent.Actor, organizationID: String, ip: String?, origin: RequestOrigin,
        at now: Date, count: Int = 1, in session: any StorageSession
    ) async throws -> AuditEvent {
        var state = try await session.audit.lockHead(organizationID: organizationID)
        let trusted = state.isTrusted(by: chain)
        var event = AuditEvent(
            id: Identifier.make(prefix: AuditEvent.idPrefix, at: now, random: random),
            organizationID: organizationID, seq: state.head.seq + 1, at: now, actor: actor, action: record.action,
            target: record.target, outcome: record.outcome, reason: record.reason, ip: ip,
            userAgent: origin.userAgent, requestID: origin.requestID, flagged: record.action.isFlagged,
            prevHash: state.head.hash, hash: "", count: count
        )
        event.hash = chain.hash(event)
        try await session.audit.insert(event)
        state.head = AuditHead(seq: event.seq, hash: event.hash)
        // A state someone changed outside the server is not signed over: its tag stays broken for `verify` to report.
        if trusted { state.tag = chain.tag(state) }
        try await session.audit.store(state)
        // The `audit.event` webhook goes to the outbox in this same transaction.
        try await Outbox(random: random).enqueue(.auditEvent, data: event.json, organizationID: organizationID, at: now, in: session) {
            $0.wants(auditAction: event.action.rawValue)
        }
        return event
    }

    /// Tags the chains that have events but no tag: run once, in the transaction that first stores the chain key
    /// (the first start of a version with keyed chains). Their events so far stay plain SHA-256 (`keyedFrom`).
    func keyLegacyChains(in session: any StorageSession) async throws {
        for id in try await session.audit.organizationIDs() {
            var state = try await session.audit.lockHead(organizationID: id)
            guard state.tag == nil else { continue }
            state.keyedFrom = state.head.seq
            state.tag = chain.tag(state)
            try await session.audit.store(state)
        }
    }
}

/// The last link of an organisation's chain (seq 0 and the genesis hash before the first event, or the anchor
/// after pruning).
public struct AuditHead: Sendable, Equatable {
    public var seq: Int
    public var hash: String
    public init(seq: Int, hash: String) {
        self.seq = seq
        self.hash = hash
    }
}

/// Which events `GET /v1/audit` and the export return.
public struct AuditFilter: Sendable, Equatable {
    /// An exact action, or a prefix written `token.*`.
    public var action: String?
    public var actorID: String?
    public var targetID: String?
    public var outcome: AuditEvent.Outcome?
    public var flagged: Bool?
    public var since: Date?
    public var until: Date?

    public init(
        action: String? = nil, actorID: String? = nil, targetID: String? = nil, outcome: AuditEvent.Outcome? = nil,
        flagged: Bool? = nil, since: Date? = nil, until: Date? = nil
    ) {
        self.action = action
        self.actorID = actorID
        self.targetID = targetID
        self.outcome = outcome
        self.flagged = flagged
        self.since = since
        self.until = until
    }
}

/// The result of checking a chain.
public enum AuditVerification: Sendable, Equatable {
    case intact(events: Int)
    /// The first event whose link is broken, and why.
    case broken(seq: Int, reason: String)

    /// Walks `events` (in stored `seq` order) from `previous`, checking sequence numbers, links and hashes: plain
    /// SHA-256 up to `keyedFrom`, the chain key's HMAC after it.
    public static func verify(_ events: [AuditEvent], from previous: AuditHead, keyedFrom: Int, chain: AuditChainKey) -> AuditVerification {
        var previous = previous
        for event in events {
            if event.seq != previous.seq + 1 {
                return .broken(seq: previous.seq + 1, reason: "event \(previous.seq + 1) is missing (found \(event.seq) next)")
            }
            if event.prevHash != previous.hash {
                return .broken(seq: event.seq, reason: "prev_hash does not match the hash of event \(previous.seq)")
            }
            let valid = event.seq <= keyedFrom ? event.unkeyedHash == event.hash : chain.isValid(hash: event.hash, of: event)
            if !valid {
                return .broken(seq: event.seq, reason: "the event's contents do not match its hash")
            }
            previous = AuditHead(seq: event.seq, hash: event.hash)
        }
        return .intact(events: events.count)
    }
}
