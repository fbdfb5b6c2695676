/// `POST /v1/inboxes` and `PATCH /v1/inboxes/{id}` (only `label` may change).
public struct InboxRequest: Codable, Sendable {
    public var phoneNumber: String?
    public var label: String?
    public var provider: String?

    public init(phoneNumber: String? = nil, label: String? = nil, provider: String? = nil) {
        self.phoneNumber = phoneNumber
        self.label = label
        self.provider = provider
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case label, provider
        case phoneNumber = "phone_number"
    }
}

public struct InboxResponse: Codable, Sendable, Equatable {
    public var id: String
    public var phoneNumber: String
    public var label: String?
    public var provider: String
    public var createdAt: String
    public var updatedAt: String

    public init(id: String, phoneNumber: String, label: String?, provider: String, createdAt: String, updatedAt: String) {
        self.id = id
        self.phoneNumber = phoneNumber
        self.label = label
        self.provider = provider
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, label, provider
        case phoneNumber = "phone_number"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

/// An inbound SMS; `code` is the one-time code found in the body, or null.
public struct SMSMessageResponse: Codable, Sendable, Equatable {
    public var id: String
    public var inboxID: String
    public var from: String
    public var to: String
    public var body: String
    public var receivedAt: String
    public var code: String?

    public init(id: String, inboxID: String, from: String, to: String, body: String, receivedAt: String, code: String?) {
        self.id = id
        self.inboxID = inboxID
        self.from = from
        self.to = to
        self.body = body
        self.receivedAt = receivedAt
        self.code = code
    }

    enum CodingKeys: String, CodingKey {
        case id, from, to, body, code
        case inboxID = "inbox_id"
        case receivedAt = "received_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(inboxID, forKey: .inboxID)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(body, forKey: .body)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(code, forKey: .code)  // null, not absent, when there is no code
    }
}

/// `POST /v1/inboxes/{id}/simulate`.
public struct SimulateRequest: Codable, Sendable {
    public var from: String?
    public var body: String?

    public init(from: String? = nil, body: String? = nil) {
        self.from = from
        self.body = body
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case from, body
    }
}

/// `PUT /v1/org/providers/twilio`.
public struct TwilioCredentialsRequest: Codable, Sendable {
    public var accountSID: String?
    public var authToken: String?

    public init(accountSID: String? = nil, authToken: String? = nil) {
        self.accountSID = accountSID
        self.authToken = authToken
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case accountSID = "account_sid"
        case authToken = "auth_token"
    }
}

/// The organisation's Twilio account as the API shows it: the Auth Token is never returned.
public struct TwilioCredentialsResponse: Codable, Sendable, Equatable {
    public var provider: String
    public var accountSID: String?
    public var authTokenSet: Bool
    public var updatedAt: String?

    public init(provider: String = "twilio", accountSID: String?, authTokenSet: Bool, updatedAt: String?) {
        self.provider = provider
        self.accountSID = accountSID
        self.authTokenSet = authTokenSet
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case provider
        case accountSID = "account_sid"
        case authTokenSet = "auth_token_set"
        case updatedAt = "updated_at"
    }
}

/// `POST /v1/sms/messages`: `from` is an inbox id or its number.
public struct SendSMSRequest: Codable, Sendable {
    public var from: String?
    public var to: String?
    public var body: String?

    public init(from: String? = nil, to: String? = nil, body: String? = nil) {
        self.from = from
        self.to = to
        self.body = body
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case from, to, body
    }
}

/// An SMS sent through the API, with its delivery status.
public struct OutboundSMSResponse: Codable, Sendable, Equatable {
    public var id: String
    public var inboxID: String
    public var from: String
    public var to: String
    public var body: String
    public var status: String
    public var error: String?
    public var createdAt: String
    public var updatedAt: String

    public init(id: String, inboxID: String, from: String, to: String, body: String, status: String, error: String?, createdAt: String, updatedAt: String) {
        self.id = id
        self.inboxID = inboxID
        self.from = from
        self.to = to
        self.body = body
        self.status = status
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, from, to, body, status, error
        case inboxID = "inbox_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
