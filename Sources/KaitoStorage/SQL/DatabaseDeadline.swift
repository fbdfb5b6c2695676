import KaitoCore
import NIOConcurrencyHelpers

/// A wait for the database, bounded (`Deadline`): past `timeout` the caller gets `unavailable` with a `Retry-After`.
enum DatabaseDeadline {
    /// The `Retry-After` (seconds) of a database that did not answer.
    static let retryAfter = 5

    /// How long a unit of work that has begun its transaction may run on past `timeout`: waiting for the database is
    /// bounded by `timeout`, work it is doing by this (and by the server's `statement_timeout`).
    static let transactionAllowance: Duration = .seconds(60)

    static func run<T: Sendable>(
        _ timeout: Duration, begun: NIOLockedValueBox<Bool>? = nil, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await Deadline.run(timeout, extended: { begun?.withLockedValue { $0 } == true ? transactionAllowance : nil }, timedOut: {
            KaitoError(.unavailable, "The database did not answer within \(timeout.components.seconds) s; nothing was changed.", retryAfter: retryAfter)
        }, body)
    }
}
