import Foundation

/// Webhook endpoints: registration (with the SSRF check), secrets, test deliveries, the delivery log and retries.
public struct WebhookService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource
    let policy: WebhookAddressPolicy
    let resolver: any HostResolver

    /// Endpoints kept through `work`, secrets sealed under `keyring`'s data keys, URLs checked by `policy`.
    public init(
        work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource,
        policy: WebhookAddressPolicy, resolver: any HostResolver
    ) {
        self.work = work
        self.keyring = keyring
        self.clock = clock
        self.random = random
        self.policy = policy
        self.resolver = resolver
    }

    /// What a client sends to create or change an endpoint; nil leaves a field as it is.
    public struct Draft: Sendable {
        public var url: String?
        public var topics: [String]?
        public var auditActions: [String]?
        public var description: String?
        public var enabled: Bool?

        /// A draft of the fields given; the others stay nil.
        public init(url: String? = nil, topics: [String]? = nil, auditActions: [String]? = nil, description: String? = nil, enabled: Bool? = nil) {
            self.url = url
            self.topics = topics
            self.auditActions = auditActions
            self.description = description
            self.enabled = enabled
        }
    }

    /// How long the old secret keeps signing after a rotation.
    public static let rotationOverlap: TimeInterval = 86_400

    /// Registers an endpoint; returns it with its signing secret, shown once (audited `webhook.create`).
    /// - Throws: `validation_failed` for a missing or refused `url`, no or unknown topics, or a bad audit filter.
    public func create(_ draft: Draft, by caller: Caller) async throws -> (WebhookEndpoint, WebhookSecret) {
        guard let url = draft.url else { throw KaitoError.validation("url", "is required") }
        let checkedURL = try await checkURL(url)
        let topics = try Self.topics(draft.topics ?? [])
        let actions = try Self.auditActions(draft.auditActions ?? [])
        let description = try TokenDraft.text(draft.description, field: "description")
        let now = clock.now()
        let id = Identifier.make(prefix: WebhookEndpoint.idPrefix, at: now, random: random)
        let secret = WebhookSecret.generate(random: random)
        let endpoint = try await work.run(for: caller, audit: AuditRecord(.webhookCreate, target: .init(type: "webhook", id: id))) { session in
            let dataKey = try await keyring.sealingKey(organizationID: caller.organizationID, session: session)
            let endpoint = WebhookEndpoint(
                id: id, organizationID: caller.organizationID, url: checkedURL, description: description, topics: topics,
                auditActions: actions, sealedSecret: try dataKey.seal(secret.bytes, kind: "webhook", recordID: id, random: random),
                createdAt: now, updatedAt: now
            )
            try await session.webhooks.insert(endpoint)
            return endpoint
        }
        return (endpoint, secret)
    }

    /// One page of the caller's organisation's endpoints, in id order.
    public func list(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<WebhookEndpoint> {
        let rows = try await work.run(for: caller) { session in
            try await session.webhooks.list(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// The caller's organisation's endpoint `id`.
    /// - Throws: `not_found` for a malformed or unknown id.
    public func get(id: String, by caller: Caller) async throws -> WebhookEndpoint {
        try await work.run(for: caller) { session in try await find(id, caller, session) }
    }

    /// Changes the fields `draft` gives; enabling clears the failure state (audited `webhook.update`).
    /// - Throws: `validation_failed` naming a bad field; `not_found` for an unknown endpoint.
    public func update(id: String, _ draft: Draft, by caller: Caller) async throws -> WebhookEndpoint {
        let checkedURL = try await draft.url.asyncMap { try await checkURL($0) }
        let topics = try draft.topics.map { try Self.topics($0) }
        let actions = try draft.auditActions.map { try Self.auditActions($0) }
        let description = try TokenDraft.text(draft.description, field: "description")
        let now = clock.now()
        return try await work.run(for: caller, audit: AuditRecord(.webhookUpdate, target: .init(type: "webhook", id: id))) { session in
            var endpoint = try await find(id, caller, session)
            if let checkedURL { endpoint.url = checkedURL }
            if let topics { endpoint.topics = topics }
            if let actions { endpoint.auditActions = actions }
            if draft.description != nil { endpoint.description = description }
            if let enabled = draft.enabled {
                endpoint.disabledAt = enabled ? nil : (endpoint.disabledAt ?? now)
                endpoint.disabledReason = enabled ? nil : (endpoint.disabledReason ?? "disabled by a key")
                if enabled { endpoint.failingSince = nil }
            }
            endpoint.updatedAt = now
            try await session.webhooks.update(endpoint)
            return endpoint
        }
    }

    /// Deletes an endpoint with its deliveries (audited `webhook.delete`).
    /// - Throws: `not_found` for an unknown endpoint.
    public func delete(id: String, by caller: Caller) async throws {
        try await work.run(for: caller, audit: AuditRecord(.webhookDelete, target: .init(type: "webhook", id: id))) { session in
            guard try await session.webhooks.delete(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The webhook")
            }
        }
    }

    /// A new secret; the old one keeps signing beside it for `rotationOverlap`.
    public func rotateSecret(id: String, by caller: Caller) async throws -> (WebhookEndpoint, WebhookSecret) {
        let secret = WebhookSecret.generate(random: random)
        let now = clock.now()
        let endpoint = try await work.run(for: caller, audit: AuditRecord(.webhookSecretRotate, target: .init(type: "webhook", id: id))) { session in
            // The sealing key first: on PostgreSQL it waits for a data-key rotation in flight, and the endpoint read
            // after it holds the secret as that rotation left it (it becomes the previous secret unchanged).
            let dataKey = try await keyring.sealingKey(organizationID: caller.organizationID, session: session)
            var endpoint = try await find(id, caller, session)
            endpoint.previousSealedSecret = endpoint.sealedSecret
            endpoint.previousSecretExpiresAt = now.addingTimeInterval(Self.rotationOverlap)
            endpoint.sealedSecret = try dataKey.seal(secret.bytes, kind: "webhook", recordID: id, random: random)
            endpoint.updatedAt = now
            try await session.webhooks.update(endpoint)
            return endpoint
        }
        return (endpoint, secret)
    }

    /// Queues a `webhook.test` delivery to the endpoint (audited `webhook.test`).
    public func sendTest(id: String, by caller: Caller) async throws -> WebhookDelivery {
        let now = clock.now()
        return try await work.run(for: caller, audit: AuditRecord(.webhookTest, target: .init(type: "webhook", id: id))) { session in
            let endpoint = try await find(id, caller, session)
            let delivery = WebhookDelivery(
                id: Identifier.make(prefix: WebhookDelivery.idPrefix, at: now, random: random), organizationID: caller.organizationID,
                endpointID: endpoint.id, type: "webhook.test", data: #"{"webhook_id":"\#(endpoint.id)"}"#, createdAt: now, nextAttemptAt: now
            )
            try await session.webhooks.insertDelivery(delivery)
            return delivery
        }
    }

    /// Deletes the deliveries whose endpoint is gone (but not one leased now), with their attempts; how many (the
    /// retention service calls it). Deleting an endpoint deletes its deliveries, but on PostgreSQL one queued in the
    /// same moment by another transaction, or from a server's list of endpoints cached until the deletion's
    /// notification arrives, can outlive it; no claim takes such a delivery, so without this it would stay pending.
    public func sweepOrphanDeliveries() async throws -> Int {
        try await work.storage.write { session in try await session.webhooks.deleteOrphanDeliveries(now: clock.now()) }
    }

    /// One page of an endpoint's deliveries, newest first, each with its attempts.
    /// - Throws: `not_found` for an unknown endpoint.
    public func deliveries(endpointID: String, by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<(WebhookDelivery, [WebhookAttempt])> {
        let rows = try await work.run(for: caller) { session in
            _ = try await find(endpointID, caller, session)
            return try await session.webhooks.deliveries(endpointID: endpointID, organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: { $0.0.id })
    }

    /// Sends a delivery again at once, with the same `webhook-id` (audited `webhook.delivery.retry`, the delivery as
    /// reason).
    public func retry(endpointID: String, deliveryID: String, by caller: Caller) async throws -> WebhookDelivery {
        let now = clock.now()
        let record = AuditRecord(.webhookDeliveryRetry, target: .init(type: "webhook", id: endpointID), reason: String(deliveryID.prefix(64)))
        return try await work.run(for: caller, audit: record) { session in
            guard var delivery = try await session.webhooks.findDelivery(id: deliveryID, organizationID: caller.organizationID),
                  delivery.endpointID == endpointID else { throw KaitoError.notFound("The delivery") }
            delivery.status = .pending
            delivery.nextAttemptAt = now
            try await session.webhooks.updateDelivery(delivery)
            return delivery
        }
    }

    private func find(_ id: String, _ caller: Caller, _ session: any StorageSession) async throws -> WebhookEndpoint {
        guard Identifier.isWellFormed(id, prefix: WebhookEndpoint.idPrefix),
              let endpoint = try await session.webhooks.find(id: id, organizationID: caller.organizationID) else {
            throw KaitoError.notFound("The webhook")
        }
        return endpoint
    }

    /// `text` normalised (see `WebhookURL`), once its host resolves only to allowed addresses.
    /// - Throws: `validation_failed` naming `url`.
    func checkURL(_ text: String) async throws -> String {
        let url = try WebhookURL(text)
        _ = try await policy.check(host: url.host, resolver: resolver)
        return url.description
    }

    static func topics(_ names: [String]) throws -> [WebhookTopic] {
        guard !names.isEmpty else { throw KaitoError.validation("topics", "must name at least one topic") }
        var topics: [WebhookTopic] = []
        for (index, name) in names.enumerated() {
            guard let topic = WebhookTopic(rawValue: name) else {
                let known = WebhookTopic.allCases.map(\.rawValue).joined(separator: ", ")
                throw KaitoError.validation("topics[\(index)]", "unknown topic; known topics: \(known)")
            }
            if !topics.contains(topic) { topics.append(topic) }
        }
        return topics
    }

    static func auditActions(_ filters: [String]) throws -> [String] {
        for (index, filter) in filters.enumerated() {
            do { try AuditService.validateActionFilter(filter) } catch {
                throw KaitoError.validation("audit_actions[\(index)]", "must be an action such as token.code.read or a prefix such as token.seed.*")
            }
        }
        return filters
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
