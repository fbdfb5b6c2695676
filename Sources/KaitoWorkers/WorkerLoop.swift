import Logging
import ServiceLifecycle

/// The run loop the workers share.
enum WorkerLoop {
    /// Runs `body` until graceful shutdown cancels it: a clean stop, not a failure of the service.
    static func untilShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {}
    }

    /// Runs `step` until the task is cancelled. A step returns whether it found work (then the next one follows at
    /// once); after one that found none, `idle` runs (a poll interval). A step that fails is logged as `failure`
    /// (the error's type only: errors can quote what they were given) and counts as having found none.
    static func repeating(
        logger: Logger, failure: String, idle: () async throws -> Void, _ step: () async throws -> Bool
    ) async throws {
        while !Task.isCancelled {
            let busy: Bool
            do {
                busy = try await step()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                logger.error("\(failure)", metadata: ["error_type": "\(type(of: error))"])
                busy = false
            }
            if !busy { try await idle() }
        }
    }
}
