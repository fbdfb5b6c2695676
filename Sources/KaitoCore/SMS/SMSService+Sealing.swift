import Foundation

/// SMS bodies are secrets like seeds (a body carries the one-time code): stored only sealed under the organisation's
/// data key, bound to the message's id, and opened in memory when a caller reads them.
extension SMSService {
    static var unsealed: KaitoError { KaitoError(.unavailable, "Stored data failed an integrity check: an SMS body is not sealed.") }

    /// How an inbound body is bound when sealed.
    static let inboundSealKind = "sms"
    /// How an outbound body is bound when sealed.
    static let outboundSealKind = "sms-outbound"

    /// `message` with its body sealed by the organisation's current data key, ready to store.
    func sealed(_ message: SMSMessage, _ session: any StorageSession) async throws -> SMSMessage {
        var message = message
        let key = try await keyring.sealingKey(organizationID: message.organizationID, session: session)
        message.sealedBody = try key.seal(Array(message.body.utf8), kind: Self.inboundSealKind, recordID: message.id, random: random)
        return message
    }

    /// `message` with its body sealed by the organisation's current data key, ready to store.
    func sealed(_ message: OutboundSMS, _ session: any StorageSession) async throws -> OutboundSMS {
        var message = message
        let key = try await keyring.sealingKey(organizationID: message.organizationID, session: session)
        message.sealedBody = try key.seal(Array(message.body.utf8), kind: Self.outboundSealKind, recordID: message.id, random: random)
        return message
    }

    /// Stored messages with their bodies (and the codes found in them) opened.
    /// - Throws: `Envelope.Error` when a sealed body was altered; `unavailable` without the data key.
    func opened(_ messages: [SMSMessage], _ session: any StorageSession) async throws -> [SMSMessage] {
        guard let organizationID = messages.first?.organizationID else { return messages }
        let key = try await keyring.dataKey(organizationID: organizationID, opening: messages.compactMap(\.sealedBody), session: session)
        return try messages.map { try Self.opened($0, with: key) }
    }

    /// `message` with its body and code from its sealed body.
    /// - Throws: `unavailable` for a row without one: every body is sealed from the start on (the start-up pass seals
    ///   older ones), so an unsealed row was written outside the server.
    static func opened(_ message: SMSMessage, with key: DataKey) throws -> SMSMessage {
        guard let sealed = message.sealedBody else { throw unsealed }
        var opened = message
        opened.body = String(decoding: try key.open(sealed, kind: inboundSealKind, recordID: message.id), as: UTF8.self)
        opened.code = CodeExtractor.extract(from: opened.body)
        return opened
    }

    /// Stored outbound messages with their bodies opened.
    func opened(_ messages: [OutboundSMS], _ session: any StorageSession) async throws -> [OutboundSMS] {
        var result: [OutboundSMS] = []
        for message in messages {
            guard let sealed = message.sealedBody else { throw Self.unsealed }
            let key = try await keyring.dataKey(organizationID: message.organizationID, opening: [sealed], session: session)
            var opened = message
            opened.body = String(decoding: try key.open(sealed, kind: Self.outboundSealKind, recordID: message.id), as: UTF8.self)
            result.append(opened)
        }
        return result
    }

    /// The `data` a delivery sends: for `sms.inbound`, the message with its body and code opened from the
    /// message's sealed row (the outbox keeps neither); for every other topic, what the outbox stored.
    /// - Throws: `Envelope.Error` when the sealed body was altered; `unavailable` without the data key.
    public static func webhookData(for delivery: WebhookDelivery, keyring: Keyring, session: any StorageSession) async throws -> String {
        guard delivery.type == WebhookTopic.smsInbound.rawValue,
              let stored = try JSONSerialization.jsonObject(with: Data(delivery.data.utf8)) as? [String: Any],
              stored["body"] == nil, let id = stored["id"] as? String else { return delivery.data }
        guard let message = try await session.sms.findMessage(id: id, organizationID: delivery.organizationID), let sealed = message.sealedBody else {
            // The message was deleted with its inbox since: the delivery goes out without it.
            var fields = stored
            fields["body"] = NSNull()
            fields["code"] = NSNull()
            return Outbox.json(fields)
        }
        let key = try await keyring.dataKey(organizationID: delivery.organizationID, opening: [sealed], session: session)
        return try opened(message, with: key).json
    }

    /// Seals the bodies an earlier version stored in plaintext, in batches (each its own transaction), emptying the
    /// plaintext columns. Run by the process that applies migration 12; returns how many it sealed (0 once done).
    @discardableResult
    public func sealStoredPlaintext(batchSize: Int = 200) async throws -> Int {
        var total = 0
        while true {
            let sealedCount = try await storage.write { session in
                let bodies = try await session.sms.plaintextBodies(limit: batchSize)
                for body in bodies {
                    let key = try await keyring.sealingKey(organizationID: body.organizationID, session: session)
                    let kind = body.direction == .inbound ? Self.inboundSealKind : Self.outboundSealKind
                    try await session.sms.replaceBody(body, sealed: try key.seal(Array(body.body.utf8), kind: kind, recordID: body.id, random: random))
                }
                // Deliveries queued by an earlier version carry the body too: they keep the message's reference only.
                let deliveries = try await session.webhooks.smsInboundDeliveriesWithBody(limit: batchSize)
                for var delivery in deliveries {
                    var fields = (try? JSONSerialization.jsonObject(with: Data(delivery.data.utf8))) as? [String: Any] ?? [:]
                    fields.removeValue(forKey: "body")
                    fields.removeValue(forKey: "code")
                    delivery.data = Outbox.json(fields)
                    try await session.webhooks.replaceData(of: delivery)
                }
                return bodies.count + deliveries.count
            }
            total += sealedCount
            if sealedCount == 0 { return total }
        }
    }
}
