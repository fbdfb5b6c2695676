import KaitoCore

/// A wait for the database, bounded (`Deadline`): past `timeout` the caller gets `unavailable` with a `Retry-After`.
enum DatabaseDeadline {
    /// The `Retry-After` (seconds) of a database that did not answer.
    static let retryAfter = 5

    static func run<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await Deadline.run(timeout, timedOut: {
            KaitoError(.unavailable, "The database did not answer within \(timeout.components.seconds) s; nothing was changed.", retryAfter: retryAfter)
        }, body)
    }
}
