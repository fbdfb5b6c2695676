/// Bounds a wait: `body` runs in a task of its own, and if it has not finished within `timeout` the caller gets
/// `timedOut()` at once and the task is cancelled (a wait for a pooled connection or a response ends then; work
/// that ignores cancellation finishes on its own, unobserved). Nothing waits on a peer that is gone.
public enum Deadline {
    /// The error of `run` when the deadline passes first, unless the caller names another.
    public struct Exceeded: Error {
        public init() {}
    }

    /// - Parameter extended: asked when `timeout` passes; a duration lets the work run that much longer before the
    ///   caller gets `timedOut()` (a database transaction that has begun, say, is bounded more loosely than the wait
    ///   for a connection).
    public static func run<T: Sendable>(
        _ timeout: Duration, extended: @escaping @Sendable () -> Duration? = { nil }, timedOut: @escaping @Sendable () -> any Error = { Exceeded() },
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = Locked<Outcome<T>>(.pending)
        let work = Task { try await body() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                outcome.withLock { $0 = .waiting(continuation) }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled, let more = extended() { try? await Task.sleep(for: more) }
                    guard !Task.isCancelled, let waiting = outcome.withLock({ $0.finish() }) else { return }
                    work.cancel()
                    waiting.resume(throwing: timedOut())
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
