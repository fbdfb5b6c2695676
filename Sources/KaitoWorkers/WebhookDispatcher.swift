import Foundation
import KaitoCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Sends the outbox: claims due deliveries (a lease, so that no two dispatchers on any server send one attempt),
/// signs each per Standard Webhooks, connects only to the address it checked, and records every attempt with its
/// next retry. A delivery in flight when the process dies is claimed again once its lease ends.
///
/// Each attempt has one deadline for the whole exchange (connect, send, answer and a body of at most
/// `maximumBodyBytes`), and up to `maximumInFlight` attempts run at once: a slow receiver holds one slot, never the
/// deliveries to other endpoints.
public struct WebhookDispatcher: Service {
    let storage: any Storage
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource
    /// Writes the endpoint's health with its `webhook.disabled` event.
    let work: UnitOfWork
    let policy: WebhookAddressPolicy
    let resolver: any HostResolver
    let logger: Logger
    let pollInterval: Duration
    let timeout: Duration
    let maximumInFlight: Int
    let batchSize = 16
    /// How long one attempt may take in all, unless the dispatcher is given another deadline.
    public static let defaultTimeout: Duration = .seconds(15)
    /// The most of a receiver's answer body that is read (it is not used).
    public static let maximumBodyBytes = WebhookTransport.maximumBodyBytes

    /// A dispatcher over `work`'s storage (whose units write the endpoints' health with their events).
    public init(
        work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource,
        policy: WebhookAddressPolicy, resolver: any HostResolver, logger: Logger, pollInterval: Duration = .milliseconds(500),
        timeout: Duration = Self.defaultTimeout, maximumInFlight: Int = 64
    ) {
        self.storage = work.storage
        self.keyring = keyring
        self.clock = clock
        self.random = random
        self.work = work
        self.policy = policy
        self.resolver = resolver
        self.logger = logger
        self.pollInterval = pollInterval
        self.timeout = timeout
        self.maximumInFlight = max(1, maximumInFlight)
    }

    /// Attempts in flight to one endpoint at most, on all servers together: a slow receiver holds only these.
    public static let maximumPerEndpoint = 4
    /// Attempts in flight for one organisation at most, on all servers together: one tenant's slow receivers leave
    /// the other tenants' deliveries room (a quarter of a server's slots).
    public static let maximumPerOrganization = 16

    /// A claim lasts well beyond the deadline of the attempt it covers, so that no other dispatcher sends it meanwhile.
    var lease: TimeInterval { max(60, 4 * Double(timeout.components.seconds)) }

    /// Claims while attempts are in flight: a slot that an attempt frees is filled at once, whatever the others wait
    /// for (else a busy endpoint would get at most its four attempts per poll); new deliveries and other servers'
    /// freed slots are found at the next poll.
    public func run() async throws {
        try await WorkerLoop.untilShutdown {
            let inFlight = NIOLockedValueBox(0)
            let slots = ChangeHub()
            let slotFreed = slots.subscribe("slot")
            defer { slotFreed.cancel() }
            try await withThrowingDiscardingTaskGroup { group in
                try await WorkerLoop.repeating(logger: logger, failure: "webhook dispatch failed") {
                    _ = await slotFreed.wait(timeout: pollInterval)
                } _: {
                    let free = maximumInFlight - inFlight.withLockedValue { $0 }
                    guard free > 0 else { return false }
                    let claimed = try await claim(limit: min(batchSize, free))
                    for delivery in claimed {
                        inFlight.withLockedValue { $0 += 1 }
                        group.addTask {
                            await deliver(delivery)
                            inFlight.withLockedValue { $0 -= 1 }
                            slots.publish("slot")
                        }
                    }
                    return !claimed.isEmpty
                }
            }
        }
    }

    /// Claims and sends every due delivery once, and waits for their attempts; returns how many were made.
    @discardableResult
    public func dispatchDue() async throws -> Int {
        let claimed = try await claim(limit: batchSize)
        await withDiscardingTaskGroup { group in
            for delivery in claimed { group.addTask { await deliver(delivery) } }
        }
        return claimed.count
    }

    /// Leases up to `limit` due deliveries to this dispatcher.
    func claim(limit: Int) async throws -> [WebhookDelivery] {
        let now = clock.now()
        let leaseUntil = now.addingTimeInterval(lease)
        return try await storage.write { session in
            try await session.webhooks.claimDue(
                now: now, leaseUntil: leaseUntil, limit: limit, perEndpoint: Self.maximumPerEndpoint, perOrganization: Self.maximumPerOrganization)
        }
    }

    struct Outcome {
        var statusCode: Int?
        var error: String?
        var retryAfter: TimeInterval?
    }

    func deliver(_ delivery: WebhookDelivery) async {
        do {
            guard let endpoint = try await storage.read({ try await $0.webhooks.find(id: delivery.endpointID, organizationID: delivery.organizationID) }) else {
                return
            }
            // What the outbox keeps sealed elsewhere (an SMS body) is opened only now, for this attempt.
            var delivery = delivery
            let (keyring, stored) = (self.keyring, delivery)
            delivery.data = try await storage.read { try await SMSService.webhookData(for: stored, keyring: keyring, session: $0) }
            let start = ContinuousClock.now
            let outcome: Outcome
            if endpoint.disabledAt != nil {
                outcome = Outcome(statusCode: nil, error: "the endpoint is disabled")
            } else {
                outcome = await send(delivery, to: endpoint)
            }
            let elapsed = ContinuousClock.now - start
            try await record(outcome, of: delivery, endpoint: endpoint, latency: Int(elapsed.wholeMilliseconds))
        } catch {
            logger.error("webhook delivery bookkeeping failed", metadata: ["delivery": "\(delivery.id)", "error_type": "\(type(of: error))"])
        }
    }

    func send(_ delivery: WebhookDelivery, to endpoint: WebhookEndpoint) async -> Outcome {
        // A URL stored before the checks of `WebhookURL` that fails them is not requested.
        guard (try? WebhookURL(endpoint.url)) != nil, let components = URLComponents(string: endpoint.url), let host = components.host else {
            return Outcome(error: "the endpoint URL is invalid")
        }
        // Checked on every attempt, and the connection goes to the address that was checked.
        let address: IPAddress
        do {
            address = try await policy.check(host: host, resolver: resolver)
        } catch let error as KaitoError {
            return Outcome(error: "refused: \(error.fieldErrors.first?.message ?? error.detail)")
        } catch {
            return Outcome(error: "the host does not resolve")
        }
        let secrets: [WebhookSecret]
        do {
            secrets = try await signingSecrets(endpoint)
        } catch {
            return Outcome(error: "the signing secret could not be read")
        }
        let timestamp = Timestamp.unixSeconds(clock.now())
        let body = delivery.body
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "Kaito-Webhooks/1"), ("webhook-id", delivery.id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", secrets.map { $0.sign(id: delivery.id, timestamp: timestamp, body: body) }.joined(separator: " ")),
        ]
        // One connection per attempt, to the address just checked; redirects are answers (never followed).
        let transport = WebhookTransport(connectTimeout: .seconds(min(10, max(1, timeout.components.seconds))))
        let clock = self.clock
        do {
            return try await Deadline.run(timeout) {
                let answer = try await transport.post(url: components, address: address, headers: headers, body: body)
                let retryAfter = answer.headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0, now: clock.now()) }
                return Outcome(statusCode: answer.status, error: nil, retryAfter: retryAfter)
            }
        } catch is Deadline.Exceeded {
            return Outcome(error: "no answer: no complete answer within \(timeout)")
        } catch {
            return Outcome(error: "no answer: \(type(of: error))")
        }
    }

    /// The current secret, and the previous one while its rotation overlap lasts.
    func signingSecrets(_ endpoint: WebhookEndpoint) async throws -> [WebhookSecret] {
        let sealed = [endpoint.sealedSecret] + (endpoint.previousSealedSecret.map { [$0] } ?? [])
        let dataKey = try await storage.read { session in
            try await keyring.dataKey(organizationID: endpoint.organizationID, opening: sealed, session: session)
        }
        var secrets = [WebhookSecret(bytes: try dataKey.open(endpoint.sealedSecret, kind: "webhook", recordID: endpoint.id))]
        if let previous = endpoint.previousSealedSecret, let until = endpoint.previousSecretExpiresAt, until > clock.now() {
            secrets.append(WebhookSecret(bytes: try dataKey.open(previous, kind: "webhook", recordID: endpoint.id)))
        }
        return secrets
    }

    func record(_ outcome: Outcome, of delivery: WebhookDelivery, endpoint: WebhookEndpoint, latency: Int) async throws {
        let now = clock.now()
        var delivery = delivery
        var endpoint = endpoint
        delivery.attempts += 1
        delivery.lastStatusCode = outcome.statusCode
        delivery.lastError = outcome.error
        let succeeded = outcome.statusCode.map { (200..<300).contains($0) } ?? false
        var disable: String?
        if succeeded {
            delivery.status = .succeeded
            delivery.nextAttemptAt = nil
            endpoint.failingSince = nil
        } else {
            endpoint.failingSince = endpoint.failingSince ?? now
            if outcome.statusCode == 410 {
                disable = "the receiver answered 410 Gone"
            } else if now.timeIntervalSince(endpoint.failingSince!) >= WebhookRetryPolicy.disableAfter {
                disable = "failing for 5 days"
            }
            let jitter = Double.random(in: -0.1...0.1)
            delivery.nextAttemptAt = disable == nil
                ? WebhookRetryPolicy.nextAttempt(after: delivery.attempts, at: now, retryAfter: outcome.retryAfter, jitter: jitter) : nil
            delivery.status = delivery.nextAttemptAt == nil ? .failed : .pending
        }
        let attempt = WebhookAttempt(
            deliveryID: delivery.id, number: delivery.attempts, at: now, statusCode: outcome.statusCode,
            latencyMilliseconds: latency, error: outcome.error, nextAttemptAt: delivery.nextAttemptAt
        )
        let (changedEndpoint, changedDelivery, disableReason) = (endpoint, delivery, disable)
        try await work.write { unit in
            let session = unit.session
            try await session.webhooks.recordAttempt(attempt, delivery: changedDelivery)
            if let disableReason, changedEndpoint.disabledAt == nil {
                try await unit.record(
                    AuditRecord(.webhookDisabled, target: .init(type: "webhook", id: changedEndpoint.id), reason: disableReason),
                    by: .system("webhook-dispatcher", in: changedEndpoint.organizationID), at: now)
            }
            try await session.webhooks.setHealth(
                id: changedEndpoint.id, organizationID: changedEndpoint.organizationID, failingSince: changedEndpoint.failingSince,
                disabledAt: disableReason == nil ? nil : now, disabledReason: disableReason)
        }
        logger.info("webhook attempt", metadata: [
            "delivery": "\(delivery.id)", "endpoint": "\(endpoint.id)", "attempt": "\(delivery.attempts)",
            "status": "\(outcome.statusCode.map(String.init) ?? "-")", "result": "\(delivery.status.rawValue)",
        ])
    }
}
