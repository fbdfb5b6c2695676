import Foundation
import KaitoCore
import SQLKit

struct SQLSMSRepository: SMSRepository {
    let db: any SQLDatabase
    let dialect: any SQLDialectSupport

    func insertInbox(_ inbox: Inbox) async throws {
        try await dialect.mappingConflict("The number \(inbox.phoneNumber) already belongs to an inbox.") {
            try await db.raw("""
                INSERT INTO inboxes (id, org_id, phone_number, label, provider, created_at, updated_at)
                VALUES (\(bind: inbox.id), \(bind: inbox.organizationID), \(bind: inbox.phoneNumber), \(bind: inbox.label),
                    \(bind: inbox.provider.rawValue), \(bind: inbox.createdAt.storedSeconds), \(bind: inbox.updatedAt.storedSeconds))
                """).run()
        }
    }

    func findInbox(id: String, organizationID: String) async throws -> Inbox? {
        try await db.raw("SELECT * FROM inboxes WHERE id = \(bind: id) AND org_id = \(bind: organizationID)").first().map(Self.decodeInbox)
    }

    func findInbox(phoneNumber: String) async throws -> Inbox? {
        try await db.raw("SELECT * FROM inboxes WHERE phone_number = \(bind: phoneNumber)").first().map(Self.decodeInbox)
    }

    func listInboxes(organizationID: String, after cursor: String?, limit: Int) async throws -> [Inbox] {
        try await db.raw("""
            SELECT * FROM inboxes WHERE org_id = \(bind: organizationID) AND id > \(bind: cursor ?? "")
            ORDER BY id LIMIT \(literal: limit)
            """).all().map(Self.decodeInbox)
    }

    func updateInbox(_ inbox: Inbox) async throws {
        try await db.raw("""
            UPDATE inboxes SET label = \(bind: inbox.label), updated_at = \(bind: inbox.updatedAt.storedSeconds)
            WHERE id = \(bind: inbox.id) AND org_id = \(bind: inbox.organizationID)
            """).run()
    }

    func deleteInbox(id: String, organizationID: String) async throws -> Bool {
        let rows = try await db.raw("DELETE FROM inboxes WHERE id = \(bind: id) AND org_id = \(bind: organizationID) RETURNING id").all()
        guard !rows.isEmpty else { return false }
        try await db.raw("DELETE FROM sms_messages WHERE inbox_id = \(bind: id) AND org_id = \(bind: organizationID)").run()
        return true
    }

    func insertMessage(_ message: SMSMessage, provider: SMSProvider) async throws -> Bool {
        let sealed = try Self.requireSealed(message.sealedBody)
        let rows = try await db.raw("""
            INSERT INTO sms_messages (id, org_id, inbox_id, from_number, to_number, body, received_at, code, provider, provider_message_id, sealed_body)
            VALUES (\(bind: message.id), \(bind: message.organizationID), \(bind: message.inboxID), \(bind: message.from),
                \(bind: message.to), '', \(bind: message.receivedAt.storedSeconds), NULL,
                \(bind: provider.rawValue), \(bind: message.providerMessageID), \(bind: sealed))
            ON CONFLICT (provider, provider_message_id) DO NOTHING
            RETURNING id
            """).all()
        return !rows.isEmpty
    }

    func findMessage(id: String, organizationID: String) async throws -> SMSMessage? {
        try await db.raw("SELECT * FROM sms_messages WHERE id = \(bind: id) AND org_id = \(bind: organizationID)").first().map(Self.decodeMessage)
    }

    func listMessages(organizationID: String, filter: SMSMessageFilter, before cursor: String?, limit: Int) async throws -> [SMSMessage] {
        var query = SQLQueryString("SELECT * FROM sms_messages WHERE org_id = \(bind: organizationID)")
        if let cursor { query += " AND id < \(bind: cursor)" }
        if let inbox = filter.inboxID { query += " AND inbox_id = \(bind: inbox)" }
        if let from = filter.from { query += " AND from_number = \(bind: from)" }
        if let since = filter.since { query += " AND received_at >= \(bind: since.storedSeconds)" }
        query += " ORDER BY id DESC LIMIT \(literal: limit)"
        return try await db.raw(query).all().map(Self.decodeMessage)
    }

    func firstMessage(inboxID: String?, organizationID: String, after id: String) async throws -> SMSMessage? {
        var query: SQLQueryString = "SELECT * FROM sms_messages WHERE org_id = \(bind: organizationID) AND id > \(bind: id)"
        if let inboxID { query += " AND inbox_id = \(bind: inboxID)" }
        query += " ORDER BY id LIMIT 1"
        return try await db.raw(query).first().map(Self.decodeMessage)
    }

    func setTwilioCredentials(_ credentials: TwilioCredentials) async throws {
        try await db.raw("""
            INSERT INTO provider_credentials (org_id, provider, account_id, sealed_secret, updated_at)
            VALUES (\(bind: credentials.organizationID), 'twilio', \(bind: credentials.accountSID), \(bind: Data(credentials.sealedAuthToken)),
                \(bind: credentials.updatedAt.storedSeconds))
            ON CONFLICT (org_id, provider) DO UPDATE SET account_id = excluded.account_id, sealed_secret = excluded.sealed_secret,
                updated_at = excluded.updated_at
            """).run()
    }

    func twilioCredentials(organizationID: String) async throws -> TwilioCredentials? {
        try await db.raw("SELECT * FROM provider_credentials WHERE org_id = \(bind: organizationID) AND provider = 'twilio'").first().map { row in
            TwilioCredentials(
                organizationID: try row.string("org_id"), accountSID: try row.string("account_id"),
                sealedAuthToken: try row.bytes("sealed_secret"), updatedAt: try row.date("updated_at"))
        }
    }

    static func decodeInbox(_ row: any SQLRow) throws -> Inbox {
        Inbox(
            id: try row.string("id"), organizationID: try row.string("org_id"), phoneNumber: try row.string("phone_number"),
            label: try row.optionalString("label"), provider: try row.value("provider", as: SMSProvider.self),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }

    static func decodeMessage(_ row: any SQLRow) throws -> SMSMessage {
        SMSMessage(
            id: try row.string("id"), organizationID: try row.string("org_id"), inboxID: try row.string("inbox_id"),
            from: try row.string("from_number"), to: try row.string("to_number"), body: try row.string("body"),
            receivedAt: try row.date("received_at"), code: try row.optionalString("code"),
            providerMessageID: try row.string("provider_message_id"), sealedBody: try row.optionalBytes("sealed_body"))
    }
}

extension SQLSMSRepository {
    func insertOutbound(_ message: OutboundSMS) async throws {
        try await db.raw("""
            INSERT INTO sms_outbound (id, org_id, inbox_id, provider, from_number, to_number, body, status, provider_message_id, error,
                attempts, next_attempt_at, created_at, updated_at, sealed_body)
            VALUES (\(bind: message.id), \(bind: message.organizationID), \(bind: message.inboxID), \(bind: message.provider.rawValue),
                \(bind: message.from), \(bind: message.to), '', \(bind: message.status.rawValue),
                \(bind: message.providerMessageID), \(bind: message.error), \(bind: message.attempts),
                \(bind: message.nextAttemptAt?.storedSeconds), \(bind: message.createdAt.storedSeconds), \(bind: message.updatedAt.storedSeconds),
                \(bind: try Self.requireSealed(message.sealedBody)))
            """).run()
    }

    func findOutbound(id: String, organizationID: String) async throws -> OutboundSMS? {
        try await db.raw("SELECT * FROM sms_outbound WHERE id = \(bind: id) AND org_id = \(bind: organizationID)").first().map(Self.decodeOutbound)
    }

    func findOutbound(provider: SMSProvider, providerMessageID: String) async throws -> OutboundSMS? {
        try await db.raw("""
            SELECT * FROM sms_outbound WHERE provider = \(bind: provider.rawValue) AND provider_message_id = \(bind: providerMessageID)\(unsafeRaw: dialect.rowLockSuffix)
            """).first().map(Self.decodeOutbound)
    }

    func claimDueOutbound(now: Date, leaseUntil: Date, limit: Int) async throws -> [OutboundSMS] {
        try await db.raw("""
            UPDATE sms_outbound SET lease_until = \(bind: leaseUntil.storedSeconds)
            WHERE id IN (
                SELECT id FROM sms_outbound
                WHERE status = 'queued' AND provider_message_id IS NULL AND next_attempt_at <= \(bind: now.storedSeconds)
                  AND (lease_until IS NULL OR lease_until <= \(bind: now.storedSeconds))
                ORDER BY next_attempt_at LIMIT \(literal: limit)\(unsafeRaw: dialect.claimLockSuffix)
            )
            RETURNING *
            """).all().map(Self.decodeOutbound)
    }

    func updateOutbound(_ message: OutboundSMS) async throws {
        try await db.raw("""
            UPDATE sms_outbound SET status = \(bind: message.status.rawValue), provider_message_id = \(bind: message.providerMessageID),
                error = \(bind: message.error), attempts = \(bind: message.attempts), next_attempt_at = \(bind: message.nextAttemptAt?.storedSeconds),
                lease_until = NULL, updated_at = \(bind: message.updatedAt.storedSeconds)
            WHERE id = \(bind: message.id) AND org_id = \(bind: message.organizationID)
            """).run()
    }

    static func decodeOutbound(_ row: any SQLRow) throws -> OutboundSMS {
        OutboundSMS(
            id: try row.string("id"), organizationID: try row.string("org_id"), inboxID: try row.string("inbox_id"),
            provider: try row.value("provider", as: SMSProvider.self), from: try row.string("from_number"),
            to: try row.string("to_number"), body: try row.string("body"),
            status: try row.value("status", as: OutboundSMS.Status.self),
            providerMessageID: try row.optionalString("provider_message_id"), error: try row.optionalString("error"),
            attempts: try row.int("attempts"), nextAttemptAt: try row.optionalDate("next_attempt_at"),
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"), sealedBody: try row.optionalBytes("sealed_body"))
    }

    /// Bodies are stored only sealed: a plaintext one reaching here is a bug, refused rather than written.
    static func requireSealed(_ sealed: [UInt8]?) throws -> Data {
        guard let sealed else { throw KaitoError(.unavailable, "An SMS body must be sealed before it is stored.") }
        return Data(sealed)
    }

    func plaintextBodies(limit: Int) async throws -> [PlaintextSMSBody] {
        let inbound = try await db.raw("""
            SELECT id, org_id, body FROM sms_messages WHERE sealed_body IS NULL ORDER BY id LIMIT \(literal: limit)
            """).all().map { PlaintextSMSBody(direction: .inbound, id: try $0.string("id"), organizationID: try $0.string("org_id"), body: try $0.string("body")) }
        let outbound = try await db.raw("""
            SELECT id, org_id, body FROM sms_outbound WHERE sealed_body IS NULL ORDER BY id LIMIT \(literal: limit)
            """).all().map { PlaintextSMSBody(direction: .outbound, id: try $0.string("id"), organizationID: try $0.string("org_id"), body: try $0.string("body")) }
        return inbound + outbound
    }

    func replaceBody(_ body: PlaintextSMSBody, sealed: [UInt8]) async throws {
        let table = body.direction == .inbound ? "sms_messages" : "sms_outbound"
        let code = body.direction == .inbound ? ", code = NULL" : ""
        try await db.raw("""
            UPDATE \(unsafeRaw: table) SET sealed_body = \(bind: Data(sealed)), body = ''\(unsafeRaw: code)
            WHERE id = \(bind: body.id) AND org_id = \(bind: body.organizationID)
            """).run()
    }
}
