import Dispatch
import NIOConcurrencyHelpers

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
        // One task for the work and a Dispatch timer: a unit of work costs no other task and no sleeping task (every
        // request has one, and tasks queue on the same two threads as the requests).
        let outcome = NIOLockedValueBox<Outcome<T>>(.pending)
        let timer = NIOLockedValueBox<TimerSource?>(nil)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            outcome.withLockedValue { $0.deliver(result) }?.resume(with: result)
            // After the delivery, so that a timer armed meanwhile is cancelled here or sees the outcome finished. A
            // cancelled timer source lets go of what its handler holds at once (a work item would keep it queued).
            timer.withLockedValue { $0?.source.cancel() }
        }
        @Sendable func arm(_ delay: Duration, mayExtend: Bool) {
            let source = DispatchSource.makeTimerSource(queue: .global())
            source.schedule(deadline: .now() + delay.inSeconds)
            source.setEventHandler {
                source.cancel()
                if mayExtend, let more = extended() { return arm(more, mayExtend: false) }
                guard let waiting = outcome.withLockedValue({ $0.finish() }) else { return }
                work.cancel()
                waiting.resume(throwing: timedOut())
            }
            timer.withLockedValue { $0 = TimerSource(source: source) }
            source.resume()
            if outcome.withLockedValue({ $0.isFinished }) { source.cancel() }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                if let ready = outcome.withLockedValue({ $0.wait(continuation) }) { return continuation.resume(with: ready) }
                arm(timeout, mayExtend: true)
            }
        } onCancel: {
            work.cancel()
        }
    }

    private enum Outcome<T: Sendable> {
        case pending
        case waiting(CheckedContinuation<T, any Error>)
        case done(Result<T, any Error>)
        case finished

        /// The work's result: the continuation to resume with it, if the caller waits already (else kept for it).
        mutating func deliver(_ result: Result<T, any Error>) -> CheckedContinuation<T, any Error>? {
            switch self {
            case .pending: self = .done(result); return nil
            case .waiting(let continuation): self = .finished; return continuation
            case .done, .finished: return nil
            }
        }

        /// The caller waits: the result, if the work has finished already (else the continuation is kept).
        mutating func wait(_ continuation: CheckedContinuation<T, any Error>) -> Result<T, any Error>? {
            guard case .done(let result) = self else {
                self = .waiting(continuation)
                return nil
            }
            self = .finished
            return result
        }

        var isFinished: Bool {
            if case .finished = self { return true }
            return false
        }

        /// The continuation to resume at the deadline, once: the first of the result and the timer takes it.
        mutating func finish() -> CheckedContinuation<T, any Error>? {
            guard case .waiting(let continuation) = self else { return nil }
            self = .finished
            return continuation
        }
    }
}

/// A Dispatch timer source, which may be cancelled from any thread (Dispatch does not mark its sources `Sendable`).
private struct TimerSource: @unchecked Sendable {
    let source: any DispatchSourceTimer
}
