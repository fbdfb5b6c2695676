import Foundation

/// SMS inboxes: provider credentials, inboxes, inbound messages from providers' callbacks or the simulator, the
/// message list and the long-poll. Sending is in `SMSService+Sending.swift`.
public struct SMSService: Sendable {
    let work: UnitOfWork
    let keyring: Keyring
    let clock: any KaitoClock
    let random: any RandomSource
    /// A long-poll reads the database again at least this often, so that a missed notification (a LISTEN
    /// connection reconnecting) delays an answer by at most this much.
    public let rereadInterval: Duration
    var storage: any Storage { work.storage }

    /// Inboxes and messages kept through `work`, bodies and credentials sealed under `keyring`'s data keys.
    public init(
        work: UnitOfWork, keyring: Keyring, clock: any KaitoClock, random: any RandomSource,
        rereadInterval: Duration = SMSService.defaultRereadInterval
    ) {
        self.work = work
        self.keyring = keyring
        self.clock = clock
        self.random = random
        precondition(rereadInterval > .zero, "a long-poll's re-read interval must be positive")
        self.rereadInterval = rereadInterval
    }

    public static let maxBodyLength = 1600
    public static let waitRange = 1...60
    /// Message ids increase strictly in this process, so that `after` cursors skip nothing.
    static let messageIDs = MonotonicIdentifiers()
    /// A server's `rereadInterval`.
    public static let defaultRereadInterval: Duration = .seconds(5)

    // MARK: Provider credentials

    /// Stores the organisation's Twilio Account SID and Auth Token (sealed).
    public func setTwilioCredentials(accountSID: String?, authToken: String?, by caller: Caller) async throws -> TwilioCredentials {
        var errors: [KaitoError.FieldError] = []
        if accountSID.map(TwilioCredentials.isValidAccountSID) != true {
            errors.append(.init(field: "account_sid", message: "must be a Twilio Account SID: AC and 32 lowercase hex digits"))
        }
        if authToken.map({ (16...128).contains($0.utf8.count) && $0.utf8.allSatisfy { (0x21...0x7E).contains($0) } }) != true {
            errors.append(.init(field: "auth_token", message: "must be the account's Auth Token (16 to 128 visible ASCII characters)"))
        }
        guard errors.isEmpty, let accountSID, let authToken else { throw KaitoError.validation(errors) }
        let now = clock.now()
        let organizationID = caller.organizationID
        return try await work.run(for: caller, audit: AuditRecord(.providerUpdate, target: .init(type: "provider", id: "twilio"))) { session in
            let dataKey = try await keyring.sealingKey(organizationID: organizationID, session: session)
            let credentials = TwilioCredentials(
                organizationID: organizationID, accountSID: accountSID,
                sealedAuthToken: try dataKey.seal(Array(authToken.utf8), kind: "provider", recordID: Self.sealRecordID(organizationID), random: random),
                updatedAt: now)
            try await session.sms.setTwilioCredentials(credentials)
            return credentials
        }
    }

    /// The organisation's Twilio credentials (the Auth Token still sealed), or nil when none are stored.
    public func twilioCredentials(by caller: Caller) async throws -> TwilioCredentials? {
        try await work.run(for: caller) { session in try await session.sms.twilioCredentials(organizationID: caller.organizationID) }
    }

    // MARK: Inboxes

    /// Creates an inbox for an E.164 number, `twilio` unless `provider` says otherwise (audited `inbox.create`).
    /// - Throws: `validation_failed` for a bad number, provider or label; `conflict` when the number has an inbox.
    public func createInbox(phoneNumber: String?, label: String?, provider: String?, by caller: Caller) async throws -> Inbox {
        var errors: [KaitoError.FieldError] = []
        if phoneNumber.map(PhoneNumber.isValid) != true {
            errors.append(.init(field: "phone_number", message: "must be an E.164 number such as +15551234567"))
        }
        let chosen = SMSProvider(rawValue: provider ?? SMSProvider.twilio.rawValue)
        if chosen == nil {
            errors.append(.init(field: "provider", message: "must be one of: \(SMSProvider.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        var cleanLabel: String?
        do { cleanLabel = try TokenDraft.text(label, field: "label") } catch let error as KaitoError { errors += error.fieldErrors }
        guard errors.isEmpty, let phoneNumber, let chosen else { throw KaitoError.validation(errors) }
        let now = clock.now()
        let id = Identifier.make(prefix: Inbox.idPrefix, at: now, random: random)
        let inbox = Inbox(id: id, organizationID: caller.organizationID, phoneNumber: phoneNumber, label: cleanLabel, provider: chosen, createdAt: now, updatedAt: now)
        return try await work.run(for: caller, audit: Self.inboxRecord(.inboxCreate, id)) { session in
            try await session.sms.insertInbox(inbox)
            return inbox
        }
    }

    /// One page of the caller's organisation's inboxes, in id order.
    public func listInboxes(by caller: Caller, after cursor: String?, limit: Int) async throws -> Page<Inbox> {
        let rows = try await work.run(for: caller) { session in
            try await session.sms.listInboxes(organizationID: caller.organizationID, after: cursor, limit: limit + 1)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// The caller's organisation's inbox `id`.
    /// - Throws: `not_found` for a malformed or unknown id.
    public func inbox(id: String, by caller: Caller) async throws -> Inbox {
        try await work.run(for: caller) { session in try await findInbox(id, caller, session) }
    }

    /// Sets an inbox's label, or clears it with nil or an empty string (audited `inbox.update`).
    /// - Throws: `validation_failed` for a bad label; `not_found` for an unknown inbox.
    public func updateInbox(id: String, label: String?, by caller: Caller) async throws -> Inbox {
        let label = try TokenDraft.text(label, field: "label")
        let now = clock.now()
        return try await work.run(for: caller, audit: Self.inboxRecord(.inboxUpdate, id)) { session in
            var inbox = try await findInbox(id, caller, session)
            inbox.label = label
            inbox.updatedAt = now
            try await session.sms.updateInbox(inbox)
            return inbox
        }
    }

    /// Deletes an inbox with its messages (audited `inbox.delete`).
    /// - Throws: `not_found` for an unknown inbox.
    public func deleteInbox(id: String, by caller: Caller) async throws {
        try await work.run(for: caller, audit: Self.inboxRecord(.inboxDelete, id)) { session in
            guard try await session.sms.deleteInbox(id: id, organizationID: caller.organizationID) else { throw KaitoError.notFound("The inbox") }
        }
    }

    // MARK: Inbound

    /// What became of an inbound message.
    public enum Receipt: Sendable, Equatable {
        case stored(SMSMessage)
        /// The provider's message id was already stored: nothing changed.
        case duplicate
    }

    /// Stores an inbound message for `inbox` (found by the caller), queues its `sms.inbound` webhook and wakes
    /// long-polls on every server, all in one transaction.
    func receive(into inbox: Inbox, from: String, body: String, providerMessageID: String, in session: any StorageSession, at now: Date) async throws -> Receipt {
        let message = try await sealed(SMSMessage(
            id: Self.messageIDs.make(prefix: SMSMessage.idPrefix, at: now, random: random), organizationID: inbox.organizationID,
            inboxID: inbox.id, from: from, to: inbox.phoneNumber, body: body, receivedAt: now,
            code: CodeExtractor.extract(from: body), providerMessageID: providerMessageID), session)
        guard try await session.sms.insertMessage(message, provider: inbox.provider) else { return .duplicate }
        try await Outbox(random: random).enqueue(.smsInbound, data: message.jsonWithoutBody, organizationID: inbox.organizationID, at: now, in: session)
        try await session.notifyAfterCommit(Self.topic(inboxID: inbox.id))
        try await session.notifyAfterCommit(Self.topic(organizationID: inbox.organizationID))
        return .stored(message)
    }

    /// A message delivered to a simulator inbox through the same path as a provider's callback.
    /// - Throws: `validation_failed` for an inbox of another provider or a bad `from`/`body`; `not_found`.
    public func simulate(inboxID: String, from: String?, body: String?, by caller: Caller) async throws -> SMSMessage {
        var errors: [KaitoError.FieldError] = []
        if from.map(PhoneNumber.isValid) != true { errors.append(.init(field: "from", message: "must be an E.164 number such as +15551234567")) }
        if let problem = Self.bodyProblem(body) { errors.append(.init(field: "body", message: problem)) }
        guard errors.isEmpty, let from, let body else { throw KaitoError.validation(errors) }
        let now = clock.now()
        let providerID = "SIM" + random.string(count: 32, alphabet: Array("0123456789abcdef"))
        let receipt = try await work.run(for: caller, audit: Self.inboxRecord(.inboxSimulate, inboxID)) { session in
            let inbox = try await findInbox(inboxID, caller, session)
            guard inbox.provider == .simulator else {
                throw KaitoError.validation("inbox", "is a \(inbox.provider.rawValue) inbox; only simulator inboxes accept simulated messages")
            }
            return try await receive(into: inbox, from: from, body: body, providerMessageID: providerID, in: session, at: now)
        }
        guard case .stored(let message) = receipt else { throw KaitoError.conflict("The simulated message was already stored.") }
        return message
    }

    /// The outcome of a Twilio inbound callback.
    public enum CallbackOutcome: Sendable, Equatable {
        case stored(SMSMessage)
        case duplicate
        /// No valid signature under the Auth Token of the inbox's organisation (or no credentials): 403, nothing stored.
        case badSignature
        /// The `To` number is no Twilio inbox: 404, nothing stored.
        case unknownNumber
        /// A required parameter is missing or malformed: 400, nothing stored.
        case malformed(String)
    }

    /// `POST /providers/twilio/sms`: finds the inbox by `To`, then checks `X-Twilio-Signature` over `url` and every
    /// parameter with the Auth Token of the inbox's organisation, before anything is stored.
    public func twilioInbound(url: String, parameters: [(String, String)], signature: String?) async throws -> CallbackOutcome {
        func value(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
        guard let to = value("To"), PhoneNumber.isValid(to) else { return .unknownNumber }
        let (accountSID, messageSID, from) = (value("AccountSid"), value("MessageSid") ?? value("SmsSid"), value("From"))
        let body = String((value("Body") ?? "").prefix(Self.maxBodyLength))
        let now = clock.now()
        return try await storage.write { session in
            guard let inbox = try await session.sms.findInbox(phoneNumber: to), inbox.provider == .twilio else { return .unknownNumber }
            guard let signature, let credentials = try await session.sms.twilioCredentials(organizationID: inbox.organizationID) else {
                return .badSignature
            }
            let token = try await authToken(credentials, session)
            guard TwilioSignature.isValid(signature, url: url, parameters: parameters, authToken: token),
                  accountSID == credentials.accountSID else {
                return .badSignature
            }
            guard let messageSID, !messageSID.isEmpty, messageSID.count <= 64 else { return .malformed("MessageSid") }
            guard let from, !from.isEmpty, from.count <= 64 else { return .malformed("From") }
            switch try await receive(into: inbox, from: from, body: body, providerMessageID: messageSID, in: session, at: now) {
            case .stored(let message): return .stored(message)
            case .duplicate: return .duplicate
            }
        }
    }

    // MARK: Reading

    /// One page of inbound messages matching `filter`, newest first, bodies opened (audited `sms.message.read`).
    /// - Throws: `not_found` when `filter` names an unknown inbox.
    public func messages(_ filter: SMSMessageFilter, by caller: Caller, before cursor: String?, limit: Int) async throws -> Page<SMSMessage> {
        let target = filter.inboxID.map { AuditEvent.Target(type: "inbox", id: $0) }
        let rows = try await work.run(for: caller, audit: AuditRecord(.smsMessageRead, target: target)) { session in
            if let inboxID = filter.inboxID { _ = try await findInbox(inboxID, caller, session) }
            return try await opened(
                try await session.sms.listMessages(organizationID: caller.organizationID, filter: filter, before: cursor, limit: limit + 1), session)
        }
        return Page.from(rows, limit: limit, cursor: \.id)
    }

    /// The caller's organisation's inbound message `id`, its body opened (audited `sms.message.read`).
    /// - Throws: `not_found` for an unknown id.
    public func message(id: String, by caller: Caller) async throws -> SMSMessage {
        try await work.run(for: caller, audit: AuditRecord(.smsMessageRead, target: .init(type: "sms", id: id))) { session in
            guard let message = try await session.sms.findMessage(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The message")
            }
            return try await opened([message], session)[0]
        }
    }

    /// The first message of the inbox (of any of the organisation's inboxes when nil) newer than `after` (or, without
    /// it, than the moment of the call), as soon as it arrives; nil when `timeout` passes first. Holds no database
    /// connection while it waits.
    public func wait(inboxID: String?, after: String?, timeout: Duration, by caller: Caller) async throws -> SMSMessage? {
        let cursor = after ?? Self.cursor(at: clock.now())
        let subscription = storage.changes.subscribe(inboxID.map { Self.topic(inboxID: $0) } ?? Self.topic(organizationID: caller.organizationID))
        defer { subscription.cancel() }
        let deadline = ContinuousClock.now + timeout
        if let inboxID { _ = try await work.run(for: caller) { session in try await findInbox(inboxID, caller, session) } }
        while true {
            let found = try await storage.read { session in
                try await session.sms.firstMessage(inboxID: inboxID, organizationID: caller.organizationID, after: cursor)
            }
            if let found {
                // Read again in the audited unit of work, so that the event and the answer go together.
                return try await work.run(for: caller, audit: AuditRecord(.smsMessageRead, target: .init(type: "sms", id: found.id))) { session in
                    try await opened([try await session.sms.findMessage(id: found.id, organizationID: caller.organizationID) ?? found], session)[0]
                }
            }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            _ = await subscription.wait(timeout: min(remaining, rereadInterval))
            try Task.checkCancellation()
        }
    }

    // MARK: Helpers

    /// A cursor before every message received after `time` (for `wait(after:)`): the smallest id of that instant.
    public static func cursor(at time: Date) -> String {
        Identifier.make(prefix: SMSMessage.idPrefix, at: time, random: ZeroRandomSource())
    }

    /// What a long-poll on one inbox subscribes to (`ChangeHub`), woken by each message that inbox receives.
    public static func topic(inboxID: String) -> String { "sms:" + inboxID }
    /// What a long-poll on all of an organisation's inboxes subscribes to, woken by each message any of them receives.
    public static func topic(organizationID: String) -> String { "sms-org:" + organizationID }

    static func inboxRecord(_ action: AuditAction, _ id: String) -> AuditRecord {
        AuditRecord(action, target: .init(type: "inbox", id: id))
    }

    static func bodyProblem(_ body: String?) -> String? {
        guard let body, !body.isEmpty else { return "is required" }
        return body.count > maxBodyLength ? "must be at most \(maxBodyLength) characters" : nil
    }

    /// The organisation's Twilio Auth Token, opened from its seal (the one place that knows how it is sealed).
    func authToken(_ credentials: TwilioCredentials, _ session: any StorageSession) async throws -> String {
        let dataKey = try await keyring.dataKey(organizationID: credentials.organizationID, opening: [credentials.sealedAuthToken], session: session)
        return String(decoding: try dataKey.open(credentials.sealedAuthToken, kind: "provider", recordID: Self.sealRecordID(credentials.organizationID)), as: UTF8.self)
    }

    /// How provider credentials are bound when sealed (`provider_credentials` holds one row per provider).
    static func sealRecordID(_ organizationID: String, provider: String = "twilio") -> String { organizationID + "/" + provider }

    func findInbox(_ id: String, _ caller: Caller, _ session: any StorageSession) async throws -> Inbox {
        guard Identifier.isWellFormed(id, prefix: Inbox.idPrefix),
              let inbox = try await session.sms.findInbox(id: id, organizationID: caller.organizationID) else {
            throw KaitoError.notFound("The inbox")
        }
        return inbox
    }
}

/// Zero bytes: the lowest identifier of a moment, a cursor that every later identifier sorts after.
struct ZeroRandomSource: RandomSource {
    func bytes(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }
}
