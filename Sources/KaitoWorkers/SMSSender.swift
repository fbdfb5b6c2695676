import AsyncHTTPClient
import Foundation
import KaitoCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Sends queued SMS: claims due messages under a lease (so that no two servers send one), sends each through its
/// provider's `SMSProviderClient` (Twilio's Messages API, or the simulator), and records the outcome. A message the provider accepted is
/// never sent again; its status then moves with the provider's signed status callbacks.
public struct SMSSender: Service {
    let sms: SMSService
    let logger: Logger
    /// How each provider sends.
    let providers: [SMSProvider: any SMSProviderClient]
    let pollInterval: Duration
    let lease: TimeInterval = 60
    let batchSize = 16

    public init(sms: SMSService, logger: Logger, twilioAPIBase: String?, publicURL: String?, pollInterval: Duration = .milliseconds(500)) {
        self.sms = sms
        self.logger = logger
        self.providers = [
            .twilio: TwilioProviderClient(sms: sms, apiBase: twilioAPIBase ?? TwilioProviderClient.defaultAPIBase, publicURL: publicURL),
            .simulator: SimulatorProviderClient(),
        ]
        self.pollInterval = pollInterval
    }

    /// Sends queued SMS every `pollInterval`, until a graceful shutdown.
    public func run() async throws {
        try await WorkerLoop.untilShutdown {
            try await WorkerLoop.repeating(logger: logger, failure: "sms sending failed") {
                try await Task.sleep(for: pollInterval)
            } _: {
                try await sendDue() > 0
            }
        }
    }

    /// Claims and sends every due message once; returns how many were attempted.
    @discardableResult
    public func sendDue() async throws -> Int {
        let claimed = try await sms.claimDue(limit: batchSize, lease: lease)
        await withTaskGroup(of: Void.self) { group in
            for message in claimed { group.addTask { await send(message) } }
        }
        return claimed.count
    }

    func send(_ message: OutboundSMS) async {
        let outcome: SMSService.SendOutcome
        if let provider = providers[message.provider] {
            outcome = await provider.send(message)
        } else {
            outcome = .rejected("no sender for the provider \(message.provider.rawValue)")
        }
        do {
            try await sms.record(outcome, of: message)
            logger.info("sms attempt", metadata: ["message": "\(message.id)", "outcome": "\(Self.describe(outcome))"])
        } catch {
            logger.error("sms bookkeeping failed", metadata: ["message": "\(message.id)", "error_type": "\(type(of: error))"])
        }
    }

    static func describe(_ outcome: SMSService.SendOutcome) -> String {
        switch outcome {
        case .accepted(_, let status): return "accepted (\(status.rawValue))"
        case .rejected: return "rejected"
        case .retryable: return "will retry"
        }
    }
}
