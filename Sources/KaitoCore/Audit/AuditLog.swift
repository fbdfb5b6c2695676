import Foundation

/// Appends events to an organisation's keyed hash chain inside the caller's transaction. The chain's head moves only
/// from the exact state an event was linked to (a conditional statement, or the head read under its lock), so
/// concurrent writers on any number of servers extend one chain without forks; each event's hash and the head's tag
/// are HMACs under the chain key (`AuditChainKey`), which the database does not hold.
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
        let pending = pending(record, actor: actor, organizationID: organizationID, ip: ip, origin: origin, at: now, count: count)
        return try await append(pending, in: session)
    }

    /// An event not yet linked into its chain (its id drawn now, its `seq` and hashes when it is linked).
    public func pending(
        _ record: AuditRecord, actor: AuditEvent.Actor, organizationID: String, ip: String?, origin: RequestOrigin,
        at now: Date, count: Int = 1
    ) -> PendingAuditEvent {
        PendingAuditEvent(
            id: Identifier.make(prefix: AuditEvent.idPrefix, at: now, random: random), organizationID: organizationID, at: now,
            actor: actor, record: record, ip: ip, origin: origin, count: count)
    }

    /// Writes `pending` in `session`'s transaction, linked to the chain's head, with its `audit.event` deliveries (the
    /// outbox, in this same transaction).
    ///
    /// Where the storage remembers the head it last wrote (both do), the event is linked to that head and written
    /// with the head's move in one statement that changes nothing unless the stored head is exactly that one: the
    /// head's row is then locked from that statement to the commit, not across the unit's other round trips.
    /// Otherwise, or when the head had moved, the head is read under its lock and the event linked to it.
    @discardableResult
    public func append(_ pending: PendingAuditEvent, in session: any StorageSession) async throws -> AuditEvent {
        // Read before the head is locked: nothing else of the unit runs while it is held.
        let endpoints = try await session.webhooks.activeEndpoints(organizationID: pending.organizationID, topic: .auditEvent)
        /// The event linked to `head` and written with the head's move; nil when the stored head was not `head`.
        @Sendable func write(from head: AuditChainState, trusted: Bool) async throws -> AuditEvent? {
            var state = head
            let event = link(pending, to: &state, trusted: trusted)
            let written = try await session.audit.append([event], deliveries: deliveries(of: event, to: endpoints), from: head, to: state, trusted: trusted)
            return written ? event : nil
        }
        return try await session.audit.withRememberedHead(organizationID: pending.organizationID) { known in
            if let known, let event = try await write(from: known.state, trusted: known.trusted) { return event }
            let locked = try await session.audit.lockHead(organizationID: pending.organizationID)
            guard let event = try await write(from: locked, trusted: locked.isTrusted(by: chain)) else {
                throw KaitoError(.unavailable, "The audit chain head moved while it was locked.")
            }
            return event
        }
    }

    /// Links `pending` to the chain `state` ends with: the event takes the next `seq` and the head's hash as its
    /// `prev_hash`, and `state` moves to it. A state changed outside the server is not signed over: its tag stays
    /// broken for `verify` to report.
    /// `trusted`, when the caller knows it (a state it linked itself), saves checking the state's tag again.
    public func link(_ pending: PendingAuditEvent, to state: inout AuditChainState, trusted known: Bool? = nil) -> AuditEvent {
        let trusted = known ?? state.isTrusted(by: chain)
        let event = chained(pending, to: &state)
        if trusted { state.tag = chain.tag(state) }
        return event
    }

    /// Links `pendings`, in order, to the chain `state` ends with (a batch: the state is tagged once, after the last,
    /// since only the state a batch ends with is stored).
    public func link(_ pendings: [PendingAuditEvent], to state: inout AuditChainState, trusted: Bool) -> [AuditEvent] {
        let events = pendings.map { chained($0, to: &state) }
        if trusted { state.tag = chain.tag(state) }
        return events
    }

    /// `pending` as the event after `state`'s head, and `state`'s head moved to it (its tag left to the caller).
    private func chained(_ pending: PendingAuditEvent, to state: inout AuditChainState) -> AuditEvent {
        let record = pending.record
        var event = AuditEvent(
            id: pending.id, organizationID: pending.organizationID, seq: state.head.seq + 1, at: pending.at, actor: pending.actor,
            action: record.action, target: record.target, outcome: record.outcome, reason: record.reason, ip: pending.ip,
            userAgent: pending.origin.userAgent, requestID: pending.origin.requestID, flagged: record.action.isFlagged,
            prevHash: state.head.hash, hash: "", count: pending.count
        )
        event.hash = chain.hash(event)
        state.head = AuditHead(seq: event.seq, hash: event.hash)
        return event
    }

    /// The `audit.event` deliveries of `event` for those of `endpoints` (the organisation's enabled endpoints
    /// subscribed to the topic) whose filter wants it.
    public func deliveries(of event: AuditEvent, to endpoints: [WebhookEndpoint]) -> [WebhookDelivery] {
        Outbox(random: random).deliveries(.auditEvent, data: event.json, organizationID: event.organizationID, at: event.at, to: endpoints) {
            $0.wants(auditAction: event.action.rawValue)
        }
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

/// An audit event before it is linked into its organisation's chain.
public struct PendingAuditEvent: Sendable {
    public let id: String
    public let organizationID: String
    public let at: Date
    public let actor: AuditEvent.Actor
    public let record: AuditRecord
    public let ip: String?
    public let origin: RequestOrigin
    public let count: Int
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
