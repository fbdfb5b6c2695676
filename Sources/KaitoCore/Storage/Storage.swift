/// The database, as the domain sees it: units of work over repositories.
///
/// Rules every implementation keeps (SQLite now, PostgreSQL under the same repositories):
/// - `write` runs its body in one transaction: it commits when the body returns and rolls back when it throws,
///   so a change and everything recorded about it (audit events, outbox rows) land together or not at all.
/// - `read` sees a consistent snapshot and never blocks the writer.
/// - Every repository method that reaches organisation-owned data takes the organisation's id and filters by it.
/// - Driver errors are mapped to `KaitoError` before they leave the storage layer (unique violation → `conflict`,
///   an unreachable database → `unavailable`).
public protocol Storage: Sendable {
    /// Runs `body` against a consistent read-only view.
    /// - Throws: whatever `body` throws, or `unavailable` when the database cannot be reached.
    func read<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T
    /// Runs `body`, which issues a single query, without a snapshot transaction around it (one statement is its
    /// own snapshot). The key lookup of every request uses it.
    func lookup<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T
    /// Runs `body` in one write transaction: commit on return, rollback on throw.
    /// - Throws: whatever `body` throws, `conflict` on a unique violation, `unavailable` when the database fails.
    func write<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T
    /// Writes an audit event that is its request's only write (a code read by a key whose use needs no record)
    /// and returns once it is durable. A storage may batch such events: on SQLite they are written together by the
    /// one writer, with each organisation's chain head kept in memory; on PostgreSQL each server writes a batch in one
    /// transaction under one lock of each chain's head.
    /// - Parameter key: the caller's key as this server authorized it (from memory, perhaps): a storage whose caches
    ///   learn of other servers' changes with a delay checks it in the same transaction.
    /// - Throws: `StaleCredentials` when `key` changed since (the caller authorizes again, from the database).
    func appendAudit(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws
    /// Whether this process may answer from `ServerCaches` now: true only when every change to what they hold,
    /// by this process or any other, empties them before the next request. Brings them up to date first (SQLite:
    /// an operator command's change).
    func cachesAreCurrent() -> Bool
    /// Counters of the storage's own work (batches, lock waits), for `/metrics`.
    func counters() -> [StorageCounter]
    /// Whether a change made by another server reaches this server's caches only a moment later (PostgreSQL's
    /// `NOTIFY`): a write on behalf of a key then checks the key in its own transaction first.
    var cachedKeysMayLag: Bool { get }
    /// Rate-limit state: shared by every server on PostgreSQL, in memory on SQLite.
    var rateLimits: any RateLimitStore { get }
    /// Where this process's long-polls wait for `notifyAfterCommit` from any server.
    var changes: ChangeHub { get }
    /// The version of the newest migration applied to the database.
    func schemaVersion() async throws -> Int
    /// The migrations this process applied when it opened the database (empty when it was up to date).
    var migrationsAppliedAtOpen: [Int] { get }
    /// Whether the database answers a trivial query (for `/ready`).
    func isReachable() async -> Bool
    /// Closes every connection. Nothing may be called afterwards.
    func close() async throws
}

/// The repositories visible inside one unit of work.
public protocol StorageSession: Sendable {
    /// Organisations.
    var organizations: any OrganizationRepository { get }
    /// Wrapped data keys, one per organisation.
    var dataKeys: any DataKeyRepository { get }
    /// API keys (hashes and metadata).
    var keys: any APIKeyRepository { get }
    /// TOTP tokens with their sealed seeds.
    var tokens: any TokenRepository { get }
    /// The audit log and its per-organisation chain heads.
    var audit: any AuditRepository { get }
    /// Webhook endpoints and the delivery outbox.
    var webhooks: any WebhookRepository { get }
    /// SMS inboxes, messages and provider credentials.
    var sms: any SMSRepository { get }
    /// The organisations' users.
    var users: any UserRepository { get }
    /// Dashboard credentials and sessions.
    var accounts: any AccountRepository { get }
    /// Responses kept for retries with the same `Idempotency-Key`.
    var idempotency: any IdempotencyRepository { get }
    /// Wakes long-polls waiting on `topic` on every server once this transaction commits (nothing if it rolls
    /// back): `NOTIFY` on PostgreSQL, the process's `ChangeHub` after the commit on SQLite.
    func notifyAfterCommit(_ topic: String) async throws
}

extension Storage {
    public func appendAudit(_ pending: PendingAuditEvent, log: AuditLog, key: APIKey?) async throws {
        try await write { session in try await log.append(pending, in: session) }
    }

    public func cachesAreCurrent() -> Bool { false }

    public func counters() -> [StorageCounter] { [] }

    public var cachedKeysMayLag: Bool { false }

    public func lookup<T: Sendable>(_ body: @Sendable @escaping (any StorageSession) async throws -> T) async throws -> T {
        try await read(body)
    }
}

/// One counter of `Storage.counters()`: a name (`[a-z_]+`, ending in its unit), what it counts, and its value.
public struct StorageCounter: Sendable, Equatable {
    public let name: String
    public let help: String
    public let value: Double

    public init(_ name: String, _ help: String, _ value: Double) {
        self.name = name
        self.help = help
        self.value = value
    }
}

/// The key a request was authorized with is no longer as it is stored (revoked, spent, its scopes, networks, expiry or
/// token binding changed on another server a moment ago): the request is authorized again from the database.
public struct StaleCredentials: Error, Sendable {
    public init() {}
}
