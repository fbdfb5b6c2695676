import Foundation

/// Where an inbox's messages come from.
public enum SMSProvider: String, Sendable, Codable, CaseIterable {
    /// A Twilio number; its messaging webhook points at `/providers/twilio/sms`.
    case twilio
    /// No provider: messages are injected with `POST /v1/inboxes/{id}/simulate`, for development and demos.
    case simulator
}

/// A phone number of an organisation, whose inbound SMS Kaito keeps. A number belongs to at most one inbox on the
/// whole server.
public struct Inbox: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    public var phoneNumber: String
    public var label: String?
    public var provider: SMSProvider
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, organizationID: String, phoneNumber: String, label: String?, provider: SMSProvider, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.organizationID = organizationID
        self.phoneNumber = phoneNumber
        self.label = label
        self.provider = provider
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let idPrefix = "inb"
}

/// An inbound SMS.
public struct SMSMessage: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    public var inboxID: String
    public var from: String
    public var to: String
    public var body: String
    public var receivedAt: Date
    /// The one-time code found in the body, or nil.
    public var code: String?
    /// The provider's id of the message (Twilio's `MessageSid`), which makes callbacks idempotent.
    public var providerMessageID: String
    /// The body as stored, sealed under the organisation's data key (bound to the message id); `body` and `code`
    /// are filled in when the service opens it.
    public var sealedBody: [UInt8]?

    public init(
        id: String, organizationID: String, inboxID: String, from: String, to: String, body: String, receivedAt: Date,
        code: String?, providerMessageID: String, sealedBody: [UInt8]? = nil
    ) {
        self.sealedBody = sealedBody
        self.id = id
        self.organizationID = organizationID
        self.inboxID = inboxID
        self.from = from
        self.to = to
        self.body = body
        self.receivedAt = receivedAt
        self.code = code
        self.providerMessageID = providerMessageID
    }

    public static let idPrefix = "sms"

    /// The `data` of an `sms.inbound` webhook: the message as the API shows it.
    public var json: String {
        Outbox.json(fields(withBody: true))
    }

    /// What the outbox stores for an `sms.inbound` delivery: the message without its body and code, which stay
    /// sealed in the message's row until the dispatcher sends the delivery (`SMSService.webhookData`).
    var jsonWithoutBody: String {
        Outbox.json(fields(withBody: false))
    }

    private func fields(withBody: Bool) -> [String: Any] {
        var fields: [String: Any] = ["id": id, "inbox_id": inboxID, "from": from, "to": to, "received_at": Timestamp.format(receivedAt)]
        if withBody {
            fields["body"] = body
            fields["code"] = code as Any? ?? NSNull()
        }
        return fields
    }
}

/// Which inbound messages a list returns.
public struct SMSMessageFilter: Sendable, Equatable {
    public var inboxID: String?
    public var from: String?
    public var since: Date?

    public init(inboxID: String? = nil, from: String? = nil, since: Date? = nil) {
        self.inboxID = inboxID
        self.from = from
        self.since = since
    }
}

/// A phone number in E.164 form: `+`, a country code that does not start with 0, 7 to 15 digits in all.
public enum PhoneNumber {
    public static func isValid(_ text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 8, utf8.count <= 16, utf8[0] == UInt8(ascii: "+"), utf8[1] != UInt8(ascii: "0") else { return false }
        return utf8.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// - Throws: `validation_failed` on `field` unless `text` is E.164.
    public static func validate(_ text: String, field: String) throws -> String {
        guard isValid(text) else { throw KaitoError.validation(field, "must be an E.164 number such as +15551234567") }
        return text
    }
}

/// An organisation's Twilio account: the Account SID in clear, the Auth Token sealed under the organisation's
/// data key like a seed.
public struct TwilioCredentials: Sendable, Equatable {
    public var organizationID: String
    public var accountSID: String
    public var sealedAuthToken: [UInt8]
    public var updatedAt: Date

    public init(organizationID: String, accountSID: String, sealedAuthToken: [UInt8], updatedAt: Date) {
        self.organizationID = organizationID
        self.accountSID = accountSID
        self.sealedAuthToken = sealedAuthToken
        self.updatedAt = updatedAt
    }

    /// `AC` and 32 lowercase hex digits.
    public static func isValidAccountSID(_ text: String) -> Bool {
        text.count == 34 && text.hasPrefix("AC") && text.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
