import Foundation

/// Reading, exporting and verifying the audit log.
public struct AuditService: Sendable {
    let work: UnitOfWork

    /// Reads, prunes and verifies the log through `work`.
    public init(work: UnitOfWork) { self.work = work }

    /// Checks an action filter: an exact dotted action or a prefix `token.*`; no wildcards elsewhere.
    /// - Throws: `malformed_request`.
    public static func validateActionFilter(_ action: String) throws {
        let body = action.hasSuffix(".*") ? String(action.dropLast(2)) : action
        let valid = !body.isEmpty && body.count <= 64 && body.utf8.allSatisfy { (97...122).contains($0) || $0 == 46 || $0 == 95 }
        guard valid else {
            throw KaitoError(.malformedRequest, "The action filter must be an action such as token.code.read or a prefix such as token.*.")
        }
    }

    /// One page of the caller's organisation's events, newest first. `beforeSeq` is the cursor: it stays valid as
    /// new events arrive.
    public func list(by caller: Caller, filter: AuditFilter, beforeSeq: Int?, limit: Int) async throws -> Page<AuditEvent> {
        let rows = try await work.run(for: caller) { session in
            try await session.audit.list(organizationID: caller.organizationID, filter: filter, beforeSeq: beforeSeq, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: { String($0.seq) })
    }

    /// Code fetches and denials of the last `hours` hours before `now`, by key, token and hour (`audit:read`): what the
    /// dashboard's tokens and keys pages chart.
    public func activity(by caller: Caller, hours: Int = 24, now: Date) async throws -> [ActivityCount] {
        try caller.require(.auditRead)
        let since = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 - Double(hours - 1) * 3600)
        return try await work.storage.read { session in try await session.audit.activity(organizationID: caller.organizationID, since: since) }
    }

    /// Events in chain order after `afterSeq`, a batch at a time (the export streams these).
    public func batch(by caller: Caller, filter: AuditFilter, afterSeq: Int, limit: Int) async throws -> [AuditEvent] {
        try await work.storage.read { session in
            try await session.audit.chain(organizationID: caller.organizationID, filter: filter, afterSeq: afterSeq, limit: limit)
        }
    }

    /// Deletes every organisation's events older than `days` days before `now`, keeping each chain verifiable
    /// from its new anchor (tagged with the chain key like the head). Returns how many events were deleted.
    public func prune(retentionDays days: Int, now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        let storage = work.storage
        let chain = work.auditChain
        var deleted = 0
        for id in try await storage.read({ try await $0.audit.organizationIDs() }) {
            deleted += try await storage.write { session in
                // The head is locked first, so that pruning and appending never interleave on one chain.
                var state = try await session.audit.lockHead(organizationID: id)
                // A chain whose state was changed outside the server is left for `verify` to report, not pruned.
                guard !state.isUntouched, state.isTrusted(by: chain) else { return 0 }
                let (count, anchor) = try await session.audit.prune(organizationID: id, olderThan: cutoff)
                if let anchor {
                    state.anchor = anchor
                    state.tag = chain.tag(state)
                    try await session.audit.store(state)
                }
                return count
            }
        }
        return deleted
    }

    /// Verifies the chains of `organizationIDs` (every organisation with events when nil), reading in batches: each
    /// event's link and keyed hash, and the stored anchor and head against their tag. With `expect` (a `seq` and
    /// `hash` seen elsewhere: an `audit.event` delivery, an export), also that this event is still in the chain,
    /// so that removing the newest events is caught even by someone who restored an older head.
    public func verify(organizationIDs: [String]? = nil, expect: AuditHead? = nil) async throws -> [(organizationID: String, result: AuditVerification)] {
        let storage = work.storage
        let ids: [String]
        if let organizationIDs {
            ids = organizationIDs
        } else {
            ids = try await storage.read { try await $0.audit.organizationIDs() }
        }
        var results: [(String, AuditVerification)] = []
        for id in ids {
            var result = try await verifyChain(id, expect: expect)
            // Retention may have pruned under the walk (the anchor moved): walk once more from the new anchor.
            if case .broken = result, try await storage.read({ try await $0.audit.state(organizationID: id) }).anchor.seq > 0 {
                result = try await verifyChain(id, expect: expect)
            }
            results.append((id, result))
        }
        return results
    }

    private func verifyChain(_ id: String, expect: AuditHead?) async throws -> AuditVerification {
        let storage = work.storage
        let chain = work.auditChain
        let state = try await storage.read { try await $0.audit.state(organizationID: id) }
        // Every organisation's log starts with its `org.create`: an existing organisation without a chain had it
        // emptied (or its head row removed).
        if state.isUntouched {
            if let first = try await storage.read({ try await $0.audit.chain(organizationID: id, filter: AuditFilter(), afterSeq: 0, limit: 1) }).first {
                return .broken(seq: first.seq, reason: "the chain has events but no head: its head row was removed or reset")
            }
            if try await storage.read({ try await $0.organizations.find(id: id) }) != nil {
                return .broken(seq: 1, reason: "the organisation has no audit events, but every organisation's log starts with org.create: it was emptied")
            }
            return .intact(events: 0)
        }
        if !state.isTrusted(by: chain) {
            return .broken(seq: state.head.seq, reason: "the chain's stored head or anchor was changed outside the server (its tag does not match)")
        }
        if let expect {
            if expect.seq > state.head.seq {
                return .broken(seq: state.head.seq + 1, reason: "event \(expect.seq) was seen, but the chain ends at \(state.head.seq): events were removed")
            }
            if expect.seq < state.anchor.seq {
                return .broken(seq: expect.seq, reason: "event \(expect.seq) is older than the retained log (which starts after \(state.anchor.seq)): it cannot be checked")
            }
            if expect.seq == state.anchor.seq, expect.hash != state.anchor.hash {
                return .broken(seq: expect.seq, reason: "event \(expect.seq) does not have the expected hash")
            }
        }
        var previous = state.anchor
        var count = 0
        while true {
            let from = previous.seq
            let events = try await storage.read { session in
                try await session.audit.chain(organizationID: id, filter: AuditFilter(), afterSeq: from, limit: 1000)
            }
            // Up to the head read above: events appended while this runs belong to a later head.
            let walked = events.prefix { $0.seq <= state.head.seq }
            guard let last = walked.last else { break }
            let result = AuditVerification.verify(Array(walked), from: previous, keyedFrom: state.keyedFrom, chain: chain)
            if case .broken = result { return result }
            if let expect, let seen = events.first(where: { $0.seq == expect.seq }), seen.hash != expect.hash {
                return .broken(seq: expect.seq, reason: "event \(expect.seq) does not have the expected hash")
            }
            count += walked.count
            previous = AuditHead(seq: last.seq, hash: last.hash)
            if last.seq >= state.head.seq || walked.count < events.count { break }
        }
        // A chain whose stored head is past its last event has lost its newest events.
        if state.head != previous {
            return .broken(seq: previous.seq + 1, reason: "the chain's head is at event \(state.head.seq), but the events end at \(previous.seq)")
        }
        return .intact(events: count)
    }
}

extension AuditService {
    /// The organisation's chain as stored (anchor, head, the end of its unkeyed part), for `kaito audit verify` to show.
    public func chainState(organizationID: String) async throws -> AuditChainState {
        try await work.storage.read { try await $0.audit.state(organizationID: organizationID) }
    }

    /// Writes the repeated denials folded in memory whose minute has ended (`all`: every one, at shutdown).
    public func flushFoldedDenials(all: Bool = false) async throws {
        try await work.flushDenials(all: all)
    }
}
