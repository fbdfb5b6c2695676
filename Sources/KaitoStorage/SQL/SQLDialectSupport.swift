import SQLKit

/// What differs between the databases beyond what SQLKit's dialects already hide. Each backend has one.
protocol SQLDialectSupport: Sendable {
    /// Whether `error` is the driver's unique-constraint violation (mapped to `conflict`).
    func isUniqueViolation(_ error: any Error) -> Bool
    /// Appended to a `SELECT` that must lock its row until the transaction ends (` FOR UPDATE` on PostgreSQL;
    /// nothing on SQLite, whose single writer already serialises write transactions).
    var rowLockSuffix: String { get }
    /// Appended to the `SELECT` that claims work rows: ` FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
    /// claimers on several servers take different rows; nothing on SQLite (one writer).
    var claimLockSuffix: String { get }
    /// A statement that serialises the webhook claims of every server until the transaction ends (a transaction-scoped
    /// advisory lock on PostgreSQL), so that each claim counts the leases of the claims before it; nil on SQLite, whose
    /// single writer already runs one claim at a time.
    var claimSerialization: String? { get }
    /// Whether `notifyAfterCommit` runs `NOTIFY` in the transaction (PostgreSQL) rather than publishing in process
    /// after the commit (SQLite, where every writer is in this process).
    var notifiesInDatabase: Bool { get }
    /// Appended to a text column that pages are ordered and cut by, so that the order is the bytes' order on every
    /// database (the server's memory pages the same way): ` COLLATE "C"` on PostgreSQL; nothing on SQLite (`BINARY`).
    var byteOrder: String { get }
    /// Whether a `WITH` clause may hold `INSERT`/`UPDATE` (PostgreSQL): a head's move and its events in one statement.
    var modifiesInCTEs: Bool { get }
}
