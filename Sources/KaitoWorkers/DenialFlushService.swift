import Foundation
import KaitoCore
import Logging
import ServiceLifecycle

/// Writes the repeated denials that `DenialFolding` counted in memory once their minute is over (checked every
/// `interval`), and every fold still open at graceful shutdown, so that no count is lost when the server stops.
public struct DenialFlushService: Service {
    let audit: AuditService
    let interval: Duration
    let logger: Logger

    public init(audit: AuditService, interval: Duration = .seconds(10), logger: Logger) {
        self.audit = audit
        self.interval = interval
        self.logger = logger
    }

    /// Writes finished minutes every `interval` until a graceful shutdown, then what is still open.
    public func run() async throws {
        try await WorkerLoop.untilShutdown {
            // Every `interval`, first waited for: each step sleeps, then writes the minutes that are over.
            try await WorkerLoop.repeating(logger: logger, failure: "writing folded denials failed") {} _: {
                try await Task.sleep(for: interval)
                try await audit.flushFoldedDenials(all: false)
                return true
            }
        }
        await flush(all: true)
    }

    private func flush(all: Bool) async {
        do {
            try await audit.flushFoldedDenials(all: all)
        } catch {
            logger.error("writing folded denials failed", metadata: ["error_type": "\(type(of: error))"])
        }
    }
}
