import Foundation
import KaitoCore
import SQLKit

struct SQLWebhookRepository: WebhookRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport
    let changes: ChangeNotifier

    func insert(_ endpoint: WebhookEndpoint) async throws {
        try await changes.notify(CacheTopic.webhooks)
        try await db.raw("""
            INSERT INTO webhook_endpoints (id, org_id, url, description, topics, audit_actions, sealed_secret,
                previous_sealed_secret, previous_secret_expires_at, disabled_at, disabled_reason, failing_since, created_at, updated_at)
            VALUES (\(bind: endpoint.id), \(bind: endpoint.organizationID), \(bind: endpoint.url), \(bind: endpoint.description),
                \(bind: Self.join(endpoint.topics.map(\.rawValue))), \(bind: Self.join(endpoint.auditActions)),
                \(bind: Data(endpoint.sealedSecret)), \(bind: endpoint.previousSealedSecret.map { Data($0) }),
                \(bind: endpoint.previousSecretExpiresAt?.storedSeconds), \(bind: endpoint.disabledAt?.storedSeconds),
                \(bind: endpoint.disabledReason), \(bind: endpoint.failingSince?.storedSeconds),
                \(bind: endpoint.createdAt.storedSeconds), \(bind: endpoint.updatedAt.storedSeconds))
            """).run()
    }

    func find(id: String, organizationID: String) async throws -> WebhookEndpoint? {
        try await db.raw("SELECT * FROM webhook_endpoints WHERE id = \(bind: id) AND org_id = \(bind: organizationID)")
            .first().map(Self.decodeEndpoint)
    }

    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [WebhookEndpoint] {
        try await db.raw("""
            SELECT * FROM webhook_endpoints WHERE org_id = \(bind: organizationID) AND id > \(bind: cursor ?? "")
            ORDER BY id LIMIT \(literal: limit)
            """).all().map(Self.decodeEndpoint)
    }

    func update(_ endpoint: WebhookEndpoint) async throws {
        try await changes.notify(CacheTopic.webhooks)
        try await db.raw("""
            UPDATE webhook_endpoints SET url = \(bind: endpoint.url), description = \(bind: endpoint.description),
                topics = \(bind: Self.join(endpoint.topics.map(\.rawValue))), audit_actions = \(bind: Self.join(endpoint.auditActions)),
                sealed_secret = \(bind: Data(endpoint.sealedSecret)),
                previous_sealed_secret = \(bind: endpoint.previousSealedSecret.map { Data($0) }),
                previous_secret_expires_at = \(bind: endpoint.previousSecretExpiresAt?.storedSeconds),
                disabled_at = \(bind: endpoint.disabledAt?.storedSeconds), disabled_reason = \(bind: endpoint.disabledReason),
                failing_since = \(bind: endpoint.failingSince?.storedSeconds), updated_at = \(bind: endpoint.updatedAt.storedSeconds)
            WHERE id = \(bind: endpoint.id) AND org_id = \(bind: endpoint.organizationID)
            """).run()
    }

    func setHealth(id: String, organizationID: String, failingSince: Date?, disabledAt: Date?, disabledReason: String?) async throws {
        if disabledAt != nil { try await changes.notify(CacheTopic.webhooks) }
        try await db.raw("""
            UPDATE webhook_endpoints SET failing_since = \(bind: failingSince?.storedSeconds),
                disabled_at = COALESCE(disabled_at, \(bind: disabledAt?.storedSeconds)),
                disabled_reason = COALESCE(disabled_reason, \(bind: disabledReason))
            WHERE id = \(bind: id) AND org_id = \(bind: organizationID)
            """).run()
    }

    func delete(id: String, organizationID: String) async throws -> Bool {
        try await changes.notify(CacheTopic.webhooks)
        let rows = try await db.raw("""
            DELETE FROM webhook_endpoints WHERE id = \(bind: id) AND org_id = \(bind: organizationID) RETURNING id
            """).all()
        guard !rows.isEmpty else { return false }
        try await db.raw("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = \(bind: id))").run()
        try await db.raw("DELETE FROM webhook_deliveries WHERE endpoint_id = \(bind: id) AND org_id = \(bind: organizationID)").run()
        return true
    }

    func activeEndpoints(organizationID: String, topic: WebhookTopic) async throws -> [WebhookEndpoint] {
        try await db.raw("""
            SELECT * FROM webhook_endpoints WHERE org_id = \(bind: organizationID) AND disabled_at IS NULL
            """).all().map(Self.decodeEndpoint).filter { $0.topics.contains(topic) }
    }

    func insertDelivery(_ delivery: WebhookDelivery) async throws {
        try await db.raw(Self.deliveryInsert([delivery])).run()
    }

    /// Inserts `deliveries` (the outbox), all of them or, with `condition`, only while it holds.
    static func deliveryInsert(_ deliveries: [WebhookDelivery], onlyIf condition: String? = nil) -> SQLQueryString {
        let rows = deliveries.map { delivery -> SQLQueryString in
            """
            (\(bind: delivery.id), \(bind: delivery.organizationID), \(bind: delivery.endpointID), \(bind: delivery.type),
             \(bind: delivery.data), \(bind: delivery.createdAt.storedSeconds), \(bind: delivery.status.rawValue),
             \(bind: Int64(delivery.attempts)), \(bind: delivery.nextAttemptAt?.storedSeconds))
            """
        }.joined(separator: ", ")
        let insert: SQLQueryString = "INSERT INTO webhook_deliveries (id, org_id, endpoint_id, type, data, created_at, status, attempts, next_attempt_at)"
        guard let condition else { return insert + " VALUES " + rows }
        return insert + " SELECT * FROM (VALUES " + rows + ") AS rows WHERE \(unsafeRaw: condition)"
    }

    func claimDue(now: Date, leaseUntil: Date, limit: Int, perEndpoint: Int, perOrganization: Int) async throws -> [WebhookDelivery] {
        let stamp = now.storedSeconds
        // What a claim may take: a delivery `d` that is due and not leased now.
        let claimable: SQLQueryString = """
            d.status = 'pending' AND d.next_attempt_at <= \(bind: stamp) AND (d.lease_until IS NULL OR d.lease_until <= \(bind: stamp))
            """
        // Nothing claimable (the usual poll): one short range of the due index, and done.
        // (A delivery whose endpoint is gone is never claimable: the retention sweep deletes it.)
        guard try await db.raw("""
            SELECT d.id FROM webhook_deliveries d
            WHERE \(claimable) AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = d.endpoint_id) LIMIT 1
            """).first() != nil else { return [] }
        // One claim at a time on all servers (PostgreSQL; SQLite's one writer runs them one at a time anyway): the
        // counts below see every lease taken before, so no endpoint or organisation exceeds its cap.
        if let serialization = dialect.claimSerialization { try await db.raw(SQLQueryString(serialization)).run() }
        // Endpoint by endpoint, never delivery by delivery: a claim costs a few index probes per endpoint, however
        // long one endpoint's queue. (Walking the due deliveries in order made every claim that found an endpoint
        // full read its whole queue, on the one writer: 0.18 s for 100,000 queued.) The endpoints with a claimable
        // delivery, the oldest first, with how many of their own and of their organisation's deliveries are leased
        // now.
        let endpoints = try await db.raw("""
            SELECT c.id, c.org_id, c.busy, c.org_busy FROM (
                SELECT e.id, e.org_id, (
                    SELECT COUNT(*) FROM webhook_deliveries busy
                    WHERE busy.endpoint_id = e.id AND busy.status = 'pending' AND busy.lease_until > \(bind: stamp)
                ) AS busy, (
                    SELECT COUNT(*) FROM webhook_deliveries busy
                    WHERE busy.org_id = e.org_id AND busy.status = 'pending' AND busy.lease_until > \(bind: stamp)
                ) AS org_busy, (
                    SELECT d.next_attempt_at FROM webhook_deliveries d
                    WHERE d.endpoint_id = e.id AND \(claimable)
                    ORDER BY d.next_attempt_at LIMIT 1
                ) AS due
                FROM webhook_endpoints e
            ) c
            WHERE c.due IS NOT NULL AND c.busy < \(bind: perEndpoint) AND c.org_busy < \(bind: perOrganization)
            ORDER BY c.due, c.id LIMIT \(literal: limit * 4)
            """).all()
        // Then each endpoint's oldest due deliveries, as many as its and its organisation's free slots allow; locked
        // (PostgreSQL) until the end of this transaction, so that two servers never claim the same ones.
        var leasedByOrganization: [String: Int] = [:]
        var chosen: [String] = []
        for row in endpoints where chosen.count < limit {
            let (endpoint, organization) = (try row.string("id"), try row.string("org_id"))
            let organizationBusy = try leasedByOrganization[organization] ?? row.int("org_busy")
            let free = min(perEndpoint - (try row.int("busy")), perOrganization - organizationBusy, limit - chosen.count)
            guard free > 0 else { continue }
            let ids = try await db.raw("""
                SELECT d.id FROM webhook_deliveries d
                WHERE d.endpoint_id = \(bind: endpoint) AND \(claimable)
                ORDER BY d.next_attempt_at LIMIT \(literal: free)\(unsafeRaw: dialect.claimLockSuffix)
                """).all().map { try $0.string("id") }
            leasedByOrganization[organization] = organizationBusy + ids.count
            chosen += ids
        }
        guard !chosen.isEmpty else { return [] }
        return try await db.raw("""
            UPDATE webhook_deliveries SET lease_until = \(bind: leaseUntil.storedSeconds)
            WHERE id IN (\(binds: chosen))
            RETURNING *
            """).all().map(Self.decodeDelivery).sorted { ($0.nextAttemptAt ?? .distantPast, $0.id) < ($1.nextAttemptAt ?? .distantPast, $1.id) }
    }

    func deleteOrphanDeliveries(now: Date) async throws -> Int {
        // The endpoints that deliveries name, one index probe each (a loose scan of `webhook_deliveries_endpoint`: the
        // cost grows with the endpoints, not with the deliveries kept), those whose endpoint is gone.
        let gone = try await db.raw("""
            WITH RECURSIVE named(endpoint_id) AS (
                SELECT (SELECT MIN(endpoint_id) FROM webhook_deliveries)
                UNION ALL
                SELECT (SELECT MIN(d.endpoint_id) FROM webhook_deliveries d WHERE d.endpoint_id > named.endpoint_id)
                FROM named WHERE named.endpoint_id IS NOT NULL
            )
            SELECT named.endpoint_id FROM named
            WHERE named.endpoint_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.id = named.endpoint_id)
            """).all().map { try $0.string("endpoint_id") }
        var deleted = 0
        for endpoint in gone {
            // A leased delivery is left for its lease to end (its dispatcher drops it when it finds no endpoint).
            let unleased: SQLQueryString = """
                endpoint_id = \(bind: endpoint) AND (lease_until IS NULL OR lease_until <= \(bind: now.storedSeconds))
                """
            if dialect.modifiesInCTEs {
                // One statement, one snapshot: the attempts go with exactly the deliveries deleted.
                deleted += try await db.raw("""
                    WITH gone AS (DELETE FROM webhook_deliveries WHERE \(unleased) RETURNING id),
                         attempts AS (DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM gone))
                    SELECT COUNT(*) AS deleted FROM gone
                    """).first()?.int("deleted") ?? 0
            } else {
                // SQLite's one writer: nothing changes between the two statements.
                try await db.raw("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE \(unleased))").run()
                deleted += try await db.raw("DELETE FROM webhook_deliveries WHERE \(unleased) RETURNING id").all().count
            }
        }
        return deleted
    }

    func smsInboundDeliveriesWithBody(limit: Int) async throws -> [WebhookDelivery] {
        try await db.raw("""
            SELECT * FROM webhook_deliveries WHERE type = 'sms.inbound' AND data LIKE '%"body":%' ORDER BY id LIMIT \(literal: limit)
            """).all().map(Self.decodeDelivery)
    }

    func replaceData(of delivery: WebhookDelivery) async throws {
        try await db.raw("""
            UPDATE webhook_deliveries SET data = \(bind: delivery.data) WHERE id = \(bind: delivery.id) AND org_id = \(bind: delivery.organizationID)
            """).run()
    }

    func findDelivery(id: String, organizationID: String) async throws -> WebhookDelivery? {
        try await db.raw("SELECT * FROM webhook_deliveries WHERE id = \(bind: id) AND org_id = \(bind: organizationID)")
            .first().map(Self.decodeDelivery)
    }

    func recordAttempt(_ attempt: WebhookAttempt, delivery: WebhookDelivery) async throws {
        try await db.raw("""
            INSERT INTO webhook_attempts (delivery_id, number, org_id, at, status_code, latency_ms, error, next_attempt_at)
            VALUES (\(bind: attempt.deliveryID), \(bind: attempt.number), \(bind: delivery.organizationID), \(bind: attempt.at.storedSeconds),
                \(bind: attempt.statusCode), \(bind: attempt.latencyMilliseconds), \(bind: attempt.error),
                \(bind: attempt.nextAttemptAt?.storedSeconds))
            """).run()
        try await updateDelivery(delivery)
    }

    func updateDelivery(_ delivery: WebhookDelivery) async throws {
        try await db.raw("""
            UPDATE webhook_deliveries SET status = \(bind: delivery.status.rawValue), attempts = \(bind: delivery.attempts),
                next_attempt_at = \(bind: delivery.nextAttemptAt?.storedSeconds), lease_until = NULL,
                last_status_code = \(bind: delivery.lastStatusCode), last_error = \(bind: delivery.lastError)
            WHERE id = \(bind: delivery.id) AND org_id = \(bind: delivery.organizationID)
            """).run()
    }

    func deliveries(endpointID: String, organizationID: String, after cursor: String?, limit: Int) async throws -> [(WebhookDelivery, [WebhookAttempt])] {
        let deliveries = try await db.raw("""
            SELECT * FROM webhook_deliveries WHERE endpoint_id = \(bind: endpointID) AND org_id = \(bind: organizationID)
              AND (\(bind: cursor == nil ? 1 : 0) = 1 OR id < \(bind: cursor ?? ""))
            ORDER BY id DESC LIMIT \(literal: limit)
            """).all().map(Self.decodeDelivery)
        var result: [(WebhookDelivery, [WebhookAttempt])] = []
        for delivery in deliveries {
            let attempts = try await db.raw("""
                SELECT * FROM webhook_attempts WHERE delivery_id = \(bind: delivery.id) AND org_id = \(bind: organizationID) ORDER BY number
                """).all().map(Self.decodeAttempt)
            result.append((delivery, attempts))
        }
        return result
    }

    static func join(_ values: [String]) -> String { values.joined(separator: " ") }
    static func split(_ text: String) -> [String] { text.split(separator: " ").map(String.init) }

    static func decodeEndpoint(_ row: any SQLRow) throws -> WebhookEndpoint {
        WebhookEndpoint(
            id: try row.string("id"), organizationID: try row.string("org_id"), url: try row.string("url"),
            description: try row.optionalString("description"),
            // A topic this version does not know is a newer server's (a rolling upgrade): this server emits nothing
            // of it, so it is left out — never a wider subscription, unlike an unknown network or scope.
            topics: split(try row.string("topics")).compactMap(WebhookTopic.init(rawValue:)),
            auditActions: split(try row.string("audit_actions")), sealedSecret: try row.bytes("sealed_secret"),
            previousSealedSecret: try row.decode(column: "previous_sealed_secret", as: Data?.self).map { Array($0) },
            previousSecretExpiresAt: try row.optionalDate("previous_secret_expires_at"),
            disabledAt: try row.optionalDate("disabled_at"), disabledReason: try row.optionalString("disabled_reason"),
            failingSince: try row.optionalDate("failing_since"), createdAt: try row.date("created_at"),
            updatedAt: try row.date("updated_at")
        )
    }

    static func decodeDelivery(_ row: any SQLRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row.string("id"), organizationID: try row.string("org_id"), endpointID: try row.string("endpoint_id"),
            type: try row.string("type"), data: try row.string("data"), createdAt: try row.date("created_at"),
            status: try row.value("status", as: WebhookDelivery.Status.self), attempts: try row.int("attempts"),
            nextAttemptAt: try row.optionalDate("next_attempt_at"), lastStatusCode: try row.optionalInt("last_status_code"),
            lastError: try row.optionalString("last_error")
        )
    }

    static func decodeAttempt(_ row: any SQLRow) throws -> WebhookAttempt {
        WebhookAttempt(
            deliveryID: try row.string("delivery_id"), number: try row.int("number"), at: try row.date("at"),
            statusCode: try row.optionalInt("status_code"), latencyMilliseconds: try row.int("latency_ms"),
            error: try row.optionalString("error"), nextAttemptAt: try row.optionalDate("next_attempt_at")
        )
    }
}
