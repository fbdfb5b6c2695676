import Foundation

/// Outbound SMS: queueing a message from an inbox (plan Business or Enterprise), its status, the provider's
/// delivery-status callbacks, and what the sender service claims and records.
extension SMSService {
    /// Queues an SMS from one of the organisation's inboxes (by id or number); the sender service sends it.
    /// - Throws: `plan_required` below Business; `validation_failed` for bad fields or a Twilio inbox without
    ///   credentials; `not_found` for an unknown inbox.
    public func send(from: String?, to: String?, body: String?, by caller: Caller) async throws -> OutboundSMS {
        var errors: [KaitoError.FieldError] = []
        if from?.isEmpty != false { errors.append(.init(field: "from", message: "is required: an inbox id or its number")) }
        if to.map(PhoneNumber.isValid) != true { errors.append(.init(field: "to", message: "must be an E.164 number such as +15551234567")) }
        if let problem = Self.bodyProblem(body) { errors.append(.init(field: "body", message: problem)) }
        guard errors.isEmpty, let from, let to, let body else { throw KaitoError.validation(errors) }
        let now = clock.now()
        let id = Identifier.make(prefix: OutboundSMS.idPrefix, at: now, random: random)
        return try await work.run(for: caller, audit: AuditRecord(.smsSend, target: .init(type: "sms_outbound", id: id))) { session in
            let plan = try await session.organizations.find(id: caller.organizationID)?.plan ?? .free
            guard plan == .business || plan == .enterprise else {
                throw KaitoError(.planRequired, "Sending SMS needs the Business or Enterprise plan.", requiredPlan: .business)
            }
            let inbox: Inbox
            if from.hasPrefix(Inbox.idPrefix + "_") {
                inbox = try await findInbox(from, caller, session)
            } else if let byNumber = try await session.sms.findInbox(phoneNumber: from), byNumber.organizationID == caller.organizationID {
                inbox = byNumber
            } else {
                throw KaitoError.notFound("The inbox")
            }
            if inbox.provider == .twilio, try await session.sms.twilioCredentials(organizationID: caller.organizationID) == nil {
                throw KaitoError.validation("from", "the organisation has no Twilio credentials (PUT /v1/org/providers/twilio)")
            }
            let message = OutboundSMS(
                id: id, organizationID: caller.organizationID, inboxID: inbox.id, provider: inbox.provider, from: inbox.phoneNumber,
                to: to, body: body, nextAttemptAt: now, createdAt: now, updatedAt: now)
            try await session.sms.insertOutbound(try await sealed(message, session))
            try await Outbox(random: random).enqueue(.smsDeliveryStatus, data: message.statusJSON(previous: nil), organizationID: caller.organizationID, at: now, in: session)
            return message
        }
    }

    /// The caller's organisation's outbound message `id`, its body opened.
    /// - Throws: `not_found` for a malformed or unknown id.
    public func outbound(id: String, by caller: Caller) async throws -> OutboundSMS {
        try await work.run(for: caller) { session in
            guard Identifier.isWellFormed(id, prefix: OutboundSMS.idPrefix),
                  let message = try await session.sms.findOutbound(id: id, organizationID: caller.organizationID) else {
                throw KaitoError.notFound("The message")
            }
            return try await opened([message], session)[0]
        }
    }

    /// What a provider made of one attempt to send.
    public enum SendOutcome: Sendable, Equatable {
        /// Accepted, with the provider's id and what it says the status is.
        case accepted(providerMessageID: String, status: OutboundSMS.Status)
        /// Refused for good (a 4xx: a bad number, bad credentials): `failed`.
        case rejected(String)
        /// Failed in a way that may pass (5xx, no answer): tried again later, then `failed`.
        case retryable(String)
    }

    /// Records an attempt's outcome, with an `sms.delivery_status` webhook when the status changed.
    public func record(_ outcome: SendOutcome, of message: OutboundSMS) async throws {
        let now = clock.now()
        try await storage.write { session in
            var changed = message
            changed.attempts += 1
            changed.updatedAt = now
            switch outcome {
            case .accepted(let providerID, let status):
                changed.providerMessageID = providerID
                changed.status = status
                changed.nextAttemptAt = nil
                changed.error = nil
            case .rejected(let error):
                changed.status = .failed
                changed.error = error
                changed.nextAttemptAt = nil
            case .retryable(let error):
                changed.error = error
                if changed.attempts <= OutboundSMS.retryDelays.count {
                    changed.nextAttemptAt = now.addingTimeInterval(OutboundSMS.retryDelays[changed.attempts - 1])
                } else {
                    changed.status = .failed
                    changed.nextAttemptAt = nil
                }
            }
            try await session.sms.updateOutbound(changed)
            if changed.status != message.status {
                try await Outbox(random: random).enqueue(
                    .smsDeliveryStatus, data: changed.statusJSON(previous: message.status), organizationID: message.organizationID, at: now, in: session)
            }
        }
    }

    /// The outcome of a Twilio status callback.
    public enum StatusOutcome: Sendable, Equatable {
        case updated(OutboundSMS)
        /// Valid, but the status would not move forward (a late or repeated callback): nothing changed.
        case unchanged
        case badSignature
        case unknownMessage
    }

    /// `POST /providers/twilio/status`: finds the message by `MessageSid`, checks the signature with the Auth Token
    /// of the organisation that sent it, and moves its status forward only.
    public func twilioStatus(url: String, parameters: [(String, String)], signature: String?) async throws -> StatusOutcome {
        func value(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
        guard let messageSID = value("MessageSid") ?? value("SmsSid"), !messageSID.isEmpty, messageSID.count <= 64 else { return .unknownMessage }
        let (accountSID, reported, errorCode) = (value("AccountSid"), value("MessageStatus") ?? value("SmsStatus"), value("ErrorCode"))
        let now = clock.now()
        return try await storage.write { session in
            guard let message = try await session.sms.findOutbound(provider: .twilio, providerMessageID: messageSID) else { return .unknownMessage }
            guard let signature, let credentials = try await session.sms.twilioCredentials(organizationID: message.organizationID) else { return .badSignature }
            let token = try await authToken(credentials, session)
            guard TwilioSignature.isValid(signature, url: url, parameters: parameters, authToken: token),
                  accountSID == credentials.accountSID else {
                return .badSignature
            }
            guard let status = reported.flatMap(OutboundSMS.Status.init(twilio:)), status.rank > message.status.rank else { return .unchanged }
            var changed = message
            changed.status = status
            changed.updatedAt = now
            if let errorCode, !errorCode.isEmpty, status != .delivered { changed.error = "Twilio error \(errorCode.prefix(16))" }
            try await session.sms.updateOutbound(changed)
            try await Outbox(random: random).enqueue(
                .smsDeliveryStatus, data: changed.statusJSON(previous: message.status), organizationID: message.organizationID, at: now, in: session)
            return .updated(changed)
        }
    }

    /// The organisation's Twilio Account SID and Auth Token, for the sender.
    public func twilioAccount(organizationID: String) async throws -> (accountSID: String, authToken: String)? {
        try await storage.read { session in
            guard let credentials = try await session.sms.twilioCredentials(organizationID: organizationID) else { return nil }
            return (credentials.accountSID, try await authToken(credentials, session))
        }
    }

    /// Claims due outbound messages for the sender (leased for `lease` seconds).
    public func claimDue(limit: Int, lease: TimeInterval) async throws -> [OutboundSMS] {
        let now = clock.now()
        return try await storage.write { session in
            try await opened(try await session.sms.claimDueOutbound(now: now, leaseUntil: now.addingTimeInterval(lease), limit: limit), session)
        }
    }
}
