import Foundation

/// Runs one request's unit of work on behalf of a caller: its effect, its audit event and the key's use (a
/// single-use key spent, `last_used_at` refreshed) commit together or not at all. If the audit event cannot be
/// written, nothing commits and the request fails with `unavailable`: no code or seed leaves without its event.
///
/// It is the one way audit events are written, for the API, the dashboard, operators and workers: a unit's own
/// record (`run(for:audit:)`), what a unit's body records (`write`, `AuditedUnit.record`), a read's event
/// (`recordRead`) and a refusal's (`recordDenial`).
public struct UnitOfWork: Sendable {
    public let storage: any Storage
    let clock: any KaitoClock
    private let audit: AuditLog
    /// The key the organisations' chains are tagged with (to verify and prune them).
    public var auditChain: AuditChainKey { audit.chain }
    /// Repeated denials counted in memory (shared by every copy of this unit of work).
    public let denials = DenialFolding()
    /// Keys and tokens kept in memory while the storage allows it.
    let caches: ServerCaches

    /// Units of work on `storage` at `clock`'s time, audit events linked under `auditChain`, ids from `random`.
    public init(storage: any Storage, clock: any KaitoClock, random: any RandomSource, auditChain: AuditChainKey) {
        self.storage = storage
        self.clock = clock
        self.audit = AuditLog(random: random, chain: auditChain)
        self.caches = ServerCaches(changes: storage.changes)
    }

    /// The key whose hash is `hash` (revoked, spent and expired keys included), from memory when it may be.
    func key(hash: [UInt8]) async throws -> APIKey? {
        let storage = self.storage
        return try await caches.keys.value(for: hash, usable: storage.cachesAreCurrent()) {
            try await storage.lookup { session in try await session.keys.find(hash: hash) }
        }
    }

    /// Every token of `organizationID` in slug order, from memory; nil when memory may not be used, or when the
    /// organisation has more tokens than memory keeps (the caller then reads a page from the database).
    func tokenList(organizationID: String) async throws -> [Token]? {
        let storage = self.storage
        guard storage.cachesAreCurrent() else { return nil }
        let limit = ServerCaches.listedTokens
        let all = try await caches.tokenLists.value(for: organizationID) {
            try await storage.read { session in
                try await session.tokens.list(organizationID: organizationID, slugs: nil, after: nil, limit: limit + 1)
            }
        }
        return all.flatMap { $0.count > limit ? nil : $0 }
    }

    /// The token `slug` of `organizationID` (its seed sealed), from memory when it may be.
    func token(slug: String, organizationID: String) async throws -> Token? {
        let storage = self.storage
        return try await caches.tokens.value(for: .init(organizationID: organizationID, slug: slug), usable: storage.cachesAreCurrent()) {
            try await storage.lookup { session in try await session.tokens.find(slug: slug, organizationID: organizationID) }
        }
    }

    /// Runs `body` for `caller`. With an `audit` record, or when the key's use must be written, it is a write
    /// transaction; otherwise a read snapshot.
    public func run<T: Sendable>(
        for caller: Caller, audit record: AuditRecord? = nil, writes: Bool = false,
        _ body: @Sendable @escaping (any StorageSession) async throws -> T
    ) async throws -> T {
        let now = clock.now()
        guard writes || record != nil || caller.mustRecordUse(at: now) else { return try await storage.read(body) }
        return try await write(for: caller, at: now) { unit in
            let result = try await body(unit.session)
            if let record { try await unit.record(record, by: Acting(caller)) }
            return result
        }
    }

    /// Runs `body` as a write for `caller` (its key checked and its use recorded, as `run(for:writes:)` does); the
    /// events the body records commit with its change.
    public func write<T: Sendable>(for caller: Caller, _ body: @Sendable @escaping (AuditedUnit) async throws -> T) async throws -> T {
        try await write(for: caller, at: clock.now(), body)
    }

    private func write<T: Sendable>(
        for caller: Caller, at now: Date, _ body: @Sendable @escaping (AuditedUnit) async throws -> T
    ) async throws -> T {
        let audit = self.audit
        let verifiesKey = storage.cachedKeysMayLag && caller.user == nil
        // Like a read's, a write's use of the key is written when it must be (single use, or the stored use is older
        // than the resolution or from another address): a key's row is not a hot row that every write updates.
        let recordsUse = caller.mustRecordUse(at: now)
        // The idempotency claim of the request this is part of, read here: the write may run on another task.
        let claim = IdempotencyService.running
        return try await failingClosed {
            try await storage.write { session in
                // Another server may have changed the key a moment ago (its notification still on the way).
                if verifiesKey {
                    guard let stored = try await session.keys.find(id: caller.key.id, organizationID: caller.organizationID),
                          stored.authorizesAlike(caller.key) else { throw StaleCredentials() }
                }
                // The key's row before anything else, in every unit: row locks are then always taken key first,
                // chain head (an audit event, the body's own or the record's below) after.
                if recordsUse { try await caller.recordUse(in: session, at: now) }
                let result = try await body(AuditedUnit(session: session, now: now, log: audit))
                if let claim { try await IdempotencyService.markCommitted(claim, organizationID: caller.organizationID, in: session) }
                return result
            }
        }
    }

    /// Runs `body` as a write for `requester`: as `write(for:)` for a caller, as `write(_:)` for an operator.
    public func write<T: Sendable>(by requester: Requester, _ body: @Sendable @escaping (AuditedUnit) async throws -> T) async throws -> T {
        switch requester {
        case .caller(let caller): try await write(for: caller, body)
        case .operator: try await write(body)
        }
    }

    /// Runs `body` as a read for `requester`: as `run(for:)` for a caller (which writes the key's use when it must),
    /// in a read snapshot for an operator.
    public func read<T: Sendable>(by requester: Requester, _ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        switch requester {
        case .caller(let caller): try await run(for: caller, body)
        case .operator: try await storage.read(body)
        }
    }

    /// Runs `body` as a write with no caller: an operator's change (`kaito admin`), a user signing in or out, a
    /// worker's. The events it records commit with its change.
    public func write<T: Sendable>(_ body: @Sendable @escaping (AuditedUnit) async throws -> T) async throws -> T {
        let (audit, now) = (self.audit, clock.now())
        return try await failingClosed {
            try await storage.write { session in try await body(AuditedUnit(session: session, now: now, log: audit)) }
        }
    }

    /// Writes the audit event of a read that has succeeded (and the key's use, when it must be recorded) and returns
    /// once it is durable; the caller answers only then. A failed read writes nothing (a single-use key is not spent
    /// by a 404); of two racing reads with one single-use key, exactly one commits its use. An event that is the
    /// only write goes to `Storage.appendAudit`, which may batch it.
    public func recordRead(for caller: Caller, audit record: AuditRecord) async throws {
        let now = clock.now()
        guard !caller.mustRecordUse(at: now) else { return try await run(for: caller, audit: record) { _ in } }
        let pending = audit.pending(
            record, actor: caller.actor, organizationID: caller.organizationID, ip: caller.address?.description, origin: caller.origin, at: now)
        let key = caller.user == nil ? caller.key : nil
        try await failingClosed { try await storage.appendAudit(pending, log: audit, key: key) }
    }

    /// Records that a known key was refused (401 for an expired, revoked or spent key; 403). The first denial of
    /// the key for this reason in a minute is written in its own transaction before the refusal is answered;
    /// repeats within the minute are folded (`DenialFolding`) and written as one event with their count later.
    /// - Throws: `unavailable` when the event cannot be written: the denial is then not silent.
    public func recordDenial(key: APIKey, address: IPAddress?, origin: RequestOrigin, error: KaitoError, target: AuditEvent.Target?) async throws {
        let now = clock.now()
        let minute = DenialFolding.minute(of: now)
        let ended = denials.takeEnded(before: minute)
        let first = denials.admit(key: key, reason: error.code.rawValue, target: target, ip: address?.description, origin: origin, minute: minute)
        guard first || !ended.isEmpty else { return }
        let audit = self.audit
        let record = AuditRecord(.authDenied, target: target, outcome: .denied, reason: error.code.rawValue)
        do {
            try await failingClosed {
                try await storage.write { session in
                    try await Self.write(ended, audit: audit, at: now, in: session)
                    if first {
                        try await audit.append(
                            record, actor: .key(key), organizationID: key.organizationID,
                            ip: address?.description, origin: origin, at: now, in: session)
                    }
                }
            }
        } catch {
            denials.restore(ended, firstOf: first ? key : nil, reason: record.reason ?? "", minute: minute)
            throw error
        }
    }

    /// Writes the folded repeats of every minute that has ended (of every minute, at shutdown: `all`).
    public func flushDenials(all: Bool = false) async throws {
        let ended = denials.takeEnded(before: all ? nil : DenialFolding.minute(of: clock.now()))
        guard !ended.isEmpty else { return }
        let (audit, now) = (self.audit, clock.now())
        do {
            try await storage.write { session in try await Self.write(ended, audit: audit, at: now, in: session) }
        } catch {
            denials.restore(ended, firstOf: nil, reason: "", minute: 0)
            throw error
        }
    }

    private static func write(_ folded: [DenialFolding.Repeats], audit: AuditLog, at now: Date, in session: any StorageSession) async throws {
        for repeats in folded {
            try await audit.append(
                AuditRecord(.authDenied, target: repeats.target, outcome: .denied, reason: repeats.reason), actor: repeats.actor,
                organizationID: repeats.organizationID, ip: repeats.ip, origin: repeats.origin, at: now, count: repeats.count, in: session)
        }
    }

    /// Domain errors pass; a storage failure while the audit event was being written becomes `unavailable`.
    @discardableResult
    private func failingClosed<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as KaitoError {
            throw error
        } catch let error as Envelope.Error {
            throw error
        } catch let error as Keyring.Error {
            throw error
        } catch let error as StaleCredentials {
            throw error
        } catch {
            throw KaitoError(.unavailable, "The audit log could not be written; nothing was changed.")
        }
    }
}
