import Foundation
import KaitoCore
import Logging
import ServiceLifecycle

/// Deletes what is kept only for a time, once at start and then every `interval`: the responses kept for
/// `Idempotency-Key` retries after their 24 hours, webhook deliveries whose endpoint is gone, and, when a retention
/// period is set (`KAITO_AUDIT_RETENTION_DAYS`), audit events older than it, keeping every chain verifiable from its
/// anchor. Stops on graceful shutdown.
public struct RetentionService: Service {
    let audit: AuditService
    let retentionDays: Int?
    let idempotency: IdempotencyService
    let webhooks: WebhookService
    let clock: any KaitoClock
    let interval: TimeInterval
    let logger: Logger

    public init(
        audit: AuditService, retentionDays: Int?, idempotency: IdempotencyService, webhooks: WebhookService, clock: any KaitoClock,
        interval: TimeInterval = 3600, logger: Logger
    ) {
        self.audit = audit
        self.retentionDays = retentionDays
        self.idempotency = idempotency
        self.webhooks = webhooks
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    /// Sweeps what has outlived its retention at once and then every `interval`, until a graceful shutdown.
    public func run() async throws {
        try await WorkerLoop.untilShutdown {
            try await WorkerLoop.repeating(logger: logger, failure: "retention sweep failed") {
                // The interval is the machine's time, not the service clock's: a test's manual clock that jumps to
                // any deadline must not turn this loop into a spin that moves the clock forward.
                try await Task.sleep(for: .seconds(interval))
            } _: {
                let swept = try await idempotency.sweep()
                if swept > 0 { logger.info("deleted expired idempotency keys", metadata: ["deleted": "\(swept)"]) }
                if let retentionDays {
                    let deleted = try await audit.prune(retentionDays: retentionDays, now: clock.now())
                    if deleted > 0 { logger.info("pruned audit events", metadata: ["deleted": "\(deleted)", "retention_days": "\(retentionDays)"]) }
                }
                // Last, and on its own: its failure must not hold back the sweeps above.
                do {
                    let orphans = try await webhooks.sweepOrphanDeliveries()
                    if orphans > 0 { logger.notice("deleted webhook deliveries whose endpoint is gone", metadata: ["deleted": "\(orphans)"]) }
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.error("sweeping webhook deliveries whose endpoint is gone failed", metadata: ["error_type": "\(type(of: error))"])
                }
                return false
            }
        }
    }
}
