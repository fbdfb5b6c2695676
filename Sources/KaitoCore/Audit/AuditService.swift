import Foundation

/// Reading, exporting and verifying the audit log.
public struct AuditService: Sendable {
    let work: UnitOfWork

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

    /// Events in chain order after `afterSeq`, a batch at a time (the export streams these).
    public func batch(by caller: Caller, filter: AuditFilter, afterSeq: Int, limit: Int) async throws -> [AuditEvent] {
        try await work.storage.read { session in
            try await session.audit.chain(organizationID: caller.organizationID, filter: filter, afterSeq: afterSeq, limit: limit)
        }
    }

    /// Deletes every organisation's events older than `days` days before `now`, keeping each chain verifiable
    /// from its new anchor. Returns how many events were deleted.
    public func prune(retentionDays days: Int, now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
        let storage = work.storage
        var deleted = 0
        for id in try await storage.read({ try await $0.audit.organizationIDs() }) {
            deleted += try await storage.write { session in
                // The head is locked first, so that pruning and appending never interleave on one chain.
                _ = try await session.audit.lockHead(organizationID: id)
                return try await session.audit.prune(organizationID: id, olderThan: cutoff)
            }
        }
        return deleted
    }

    /// Verifies the chains of `organizationIDs` (every organisation with events when nil), reading in batches.
    public func verify(organizationIDs: [String]? = nil) async throws -> [(organizationID: String, result: AuditVerification)] {
        let storage = work.storage
        let ids: [String]
        if let organizationIDs {
            ids = organizationIDs
        } else {
            ids = try await storage.read { try await $0.audit.organizationIDs() }
        }
        var results: [(String, AuditVerification)] = []
        for id in ids {
            var head = try await storage.read { try await $0.audit.anchor(organizationID: id) }
            var verdict = AuditVerification.intact(events: 0)
            var count = 0
            reading: while true {
                let from = head.seq
                let events = try await storage.read { session in
                    try await session.audit.chain(organizationID: id, filter: AuditFilter(), afterSeq: from, limit: 1000)
                }
                guard let last = events.last else { break reading }
                let result = AuditVerification.verify(events, from: head)
                if case .broken = result {
                    verdict = result
                    break reading
                }
                count += events.count
                head = AuditHead(seq: last.seq, hash: last.hash)
            }
            if case .intact = verdict { verdict = .intact(events: count) }
            // A chain whose stored head is past its last event has lost its newest events.
            if case .intact = verdict {
                let stored = try await storage.read { try await $0.audit.anchorAndHead(organizationID: id).head }
                if stored.seq != head.seq || stored.hash != head.hash {
                    verdict = .broken(seq: head.seq + 1, reason: "the chain's head is at event \(stored.seq), but the events end at \(head.seq)")
                }
            }
            results.append((id, verdict))
        }
        return results
    }
}
