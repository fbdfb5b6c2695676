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

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    await flush(all: false)
                }
            }
        } catch is CancellationError {}
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
