import Foundation
import KaitoCore
import Logging
import ServiceLifecycle

/// Prunes audit events older than the retention period (`KAITO_AUDIT_RETENTION_DAYS`), once at start and then
/// every `interval`, keeping every chain verifiable from its anchor. Stops on graceful shutdown.
public struct AuditRetentionService: Service {
    let audit: AuditService
    let retentionDays: Int
    let clock: any KaitoClock
    let interval: TimeInterval
    let logger: Logger

    public init(audit: AuditService, retentionDays: Int, clock: any KaitoClock, interval: TimeInterval = 3600, logger: Logger) {
        self.audit = audit
        self.retentionDays = retentionDays
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await WorkerLoop.untilShutdown {
            try await WorkerLoop.repeating(logger: logger, failure: "audit pruning failed") {
                try await clock.sleep(until: clock.now().addingTimeInterval(interval))
            } _: {
                let deleted = try await audit.prune(retentionDays: retentionDays, now: clock.now())
                if deleted > 0 { logger.info("pruned audit events", metadata: ["deleted": "\(deleted)", "retention_days": "\(retentionDays)"]) }
                return false
            }
        }
    }
}
