import Foundation
import KaitoCore
import NIOCore
import NIOPosix

/// Bounds a wait for the database: `body` runs in a task of its own, and if it has not finished within `timeout`
/// the caller gets `unavailable` (with a `Retry-After`) and the task is cancelled (a wait for a pooled connection
/// ends at once; a statement already sent finishes or fails on its own). Nothing waits on a database that is gone.
enum DatabaseDeadline {
    /// The `Retry-After` (seconds) of a database that did not answer.
    static let retryAfter = 5

    static func run<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = Locked<Outcome<T>>(.pending)
        let work = Task { try await body() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.withLock { $0 = .waiting(continuation) }
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)) {
                    if let waiting = outcome.withLock({ $0.finish() }) {
                        work.cancel()
                        waiting.resume(throwing: KaitoError(
                            .unavailable, "The database did not answer within \(timeout.components.seconds) s; nothing was changed.",
                            retryAfter: retryAfter))
                    }
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    if let waiting = outcome.withLock({ $0.finish() }) { waiting.resume(with: result) }
                }
            }
        } onCancel: {
            work.cancel()
        }
    }

    private enum Outcome<T: Sendable> {
        case pending
        case waiting(CheckedContinuation<T, any Error>)
        case finished

        /// The continuation to resume, once: the first of the result and the timer takes it.
        mutating func finish() -> CheckedContinuation<T, any Error>? {
            guard case .waiting(let continuation) = self else { return nil }
            self = .finished
            return continuation
        }
    }
}
