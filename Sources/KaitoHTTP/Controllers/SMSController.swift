import Foundation
import HTTPTypes
import Hummingbird
import KaitoAPIModels
import KaitoCore
import NIOCore

/// Inboxes, inbound messages, the long-poll and the organisation's provider credentials (docs/api.md#sms).
struct SMSController {
    let sms: SMSService

    func register(on api: APIRouter) {
        let credentialFields = TwilioCredentialsRequest.CodingKeys.allCases.map(\.rawValue)
        api.add(.put, "/v1/org/providers/twilio", scope: .orgAdmin, summary: "Set the organisation's Twilio Account SID and Auth Token (stored encrypted, never returned)",
            doc: .init(status: 200, response: "TwilioCredentials", request: "TwilioCredentialsRequest")) { request, context, caller in
            let body = try await RequestBody.decode(TwilioCredentialsRequest.self, from: request, context: context, allowedFields: credentialFields)
            let credentials = try await sms.setTwilioCredentials(accountSID: body.accountSID, authToken: body.authToken, by: caller)
            return try context.responseEncoder.encode(TwilioCredentialsResponse(credentials))
        }
        api.add(.get, "/v1/org/providers/twilio", scope: .orgAdmin, summary: "The organisation's Twilio account (the Auth Token only as auth_token_set)",
            doc: .init(status: 200, response: "TwilioCredentials", problems: [.notFound])) { request, context, caller in
            let credentials = try await sms.twilioCredentials(by: caller)
            return try context.responseEncoder.encode(credentials.map(TwilioCredentialsResponse.init) ?? TwilioCredentialsResponse(accountSID: nil, authTokenSet: false, updatedAt: nil))
        }

        let inboxFields = InboxRequest.CodingKeys.allCases.map(\.rawValue)
        api.add(.post, "/v1/inboxes", scope: .orgAdmin, summary: "Create an inbox for a phone number (E.164) of a provider",
            doc: .init(status: 201, response: "Inbox", request: "CreateInboxRequest", problems: [.conflict])) { request, context, caller in
            let body = try await RequestBody.decode(InboxRequest.self, from: request, context: context, allowedFields: inboxFields)
            let inbox = try await sms.createInbox(phoneNumber: body.phoneNumber, label: body.label, provider: body.provider, by: caller)
            var response = try context.responseEncoder.encode(InboxResponse(inbox), status: .created)
            response.headers[.location] = "/v1/inboxes/\(inbox.id)"
            return response
        }
        api.add(.get, "/v1/inboxes", anyOf: [.smsRead, .orgAdmin], summary: "List inboxes",
            doc: .init(status: 200, response: "InboxList", query: OperationDoc.page)) { request, context, caller in
            let (limit, after) = try context.query.pagination()
            let page = try await sms.listInboxes(by: caller, after: after, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.id, InboxResponse.init))
        }
        api.add(.get, "/v1/inboxes/{id}", anyOf: [.smsRead, .orgAdmin], summary: "Read an inbox",
            doc: .init(status: 200, response: "Inbox")) { request, context, caller in
            return try context.responseEncoder.encode(InboxResponse(try await sms.inbox(id: id(context), by: caller)))
        }
        api.add(.patch, "/v1/inboxes/{id}", scope: .orgAdmin, summary: "Change an inbox's label (the number and provider are fixed)",
            doc: .init(status: 200, response: "Inbox", request: "UpdateInboxRequest")) { request, context, caller in
            let body = try await RequestBody.decode(InboxRequest.self, from: request, context: context, allowedFields: ["label"], nullable: ["label"])
            return try context.responseEncoder.encode(InboxResponse(try await sms.updateInbox(id: id(context), label: body.label, by: caller)))
        }
        api.add(.delete, "/v1/inboxes/{id}", scope: .orgAdmin, summary: "Delete an inbox and its messages",
            doc: .init(status: 204)) { request, context, caller in
            try await sms.deleteInbox(id: id(context), by: caller)
            return Response(status: .noContent)
        }
        let simulateFields = SimulateRequest.CodingKeys.allCases.map(\.rawValue)
        api.add(.post, "/v1/inboxes/{id}/simulate", scope: .orgAdmin, summary: "Deliver a message to a simulator inbox through the provider callback's path",
            doc: .init(status: 201, response: "Message", request: "SimulateRequest")) { request, context, caller in
            let body = try await RequestBody.decode(SimulateRequest.self, from: request, context: context, allowedFields: simulateFields)
            let message = try await sms.simulate(inboxID: id(context), from: body.from, body: body.body, by: caller)
            return try context.responseEncoder.encode(SMSMessageResponse(message), status: .created)
        }

        api.add(.get, "/v1/sms/messages", scope: .smsRead, summary: "Inbound messages, newest first, filtered by inbox, from, since",
            doc: .init(status: 200, response: "MessageList", query: [
                OperationDoc.QueryDoc(name: "inbox", schema: JSONSchema.string(), description: "Only this inbox's messages"),
                OperationDoc.QueryDoc(name: "from", schema: JSONSchema.string(), description: "Only messages from this number"),
                OperationDoc.QueryDoc(name: "since", schema: JSONSchema.timestamp(), description: "Only messages received at or after this time"),
            ] + OperationDoc.page, problems: [.notFound])) { request, context, caller in
            let query = context.query
            let (limit, before) = try query.pagination()
            var filter = SMSMessageFilter(inboxID: query["inbox"], from: query["from"])
            if let since = query["since"] {
                guard let date = Timestamp.parse(since) else { throw KaitoError(.malformedRequest, "since must be an RFC 3339 timestamp.") }
                filter.since = date
            }
            let page = try await sms.messages(filter, by: caller, before: before, limit: limit)
            return try context.responseEncoder.encode(page.response(cursor: \.id, SMSMessageResponse.init))
        }
        // Registered before `/v1/sms/messages/{id}` so that `wait` is not taken for an id.
        api.add(.get, "/v1/sms/messages/wait", scope: .smsRead, summary: "Long-poll: the first message of an inbox newer than `after`, or 204 at the timeout",
            doc: .init(status: 200, response: "Message", query: [
                OperationDoc.QueryDoc(name: "inbox", schema: JSONSchema.string(), description: "The inbox to wait on", required: true),
                OperationDoc.QueryDoc(name: "after", schema: JSONSchema.string(pattern: "^sms_[0-9A-HJKMNP-TV-Z]{26}$"), description: "A message id: wait for one newer than it"),
                OperationDoc.QueryDoc(name: "timeout", schema: JSONSchema.integer(minimum: SMSService.waitRange.lowerBound, maximum: SMSService.waitRange.upperBound),
                  description: "Seconds to wait, default 30"),
            ], problems: [.notFound], alsoEmpty: [204: "No message arrived before the timeout"])) { request, context, caller in
            let query = context.query
            guard let inbox = query["inbox"] else { throw KaitoError.validation("inbox", "is required") }
            let timeout = try query.integer("timeout", in: SMSService.waitRange) ?? 30
            if let after = query["after"], !Identifier.isWellFormed(after, prefix: SMSMessage.idPrefix) {
                throw KaitoError.validation("after", "must be a message id (sms_...)")
            }
            guard let message = try await sms.wait(inboxID: inbox, after: query["after"], timeout: .seconds(timeout), by: caller) else {
                return Response(status: .noContent)
            }
            return try context.responseEncoder.encode(SMSMessageResponse(message))
        }
        let sendFields = SendSMSRequest.CodingKeys.allCases.map(\.rawValue)
        api.add(.post, "/v1/sms/messages", scope: .smsSend, summary: "Send an SMS from an inbox (plan Business or Enterprise); 202 with status queued",
            doc: .init(status: 202, response: "OutboundMessage", request: "SendSMSRequest", problems: [.planRequired, .notFound])) { request, context, caller in
            let body = try await RequestBody.decode(SendSMSRequest.self, from: request, context: context, allowedFields: sendFields)
            let message = try await sms.send(from: body.from, to: body.to, body: body.body, by: caller)
            var response = try context.responseEncoder.encode(OutboundSMSResponse(message), status: .accepted)
            response.headers[.location] = "/v1/sms/outbound/\(message.id)"
            return response
        }
        api.add(.get, "/v1/sms/outbound/{id}", anyOf: [.smsSend, .smsRead], summary: "An sent SMS and its delivery status",
            doc: .init(status: 200, response: "OutboundMessage")) { request, context, caller in
            return try context.responseEncoder.encode(OutboundSMSResponse(try await sms.outbound(id: id(context), by: caller)))
        }
        api.add(.get, "/v1/sms/messages/{id}", scope: .smsRead, summary: "Read an inbound message",
            doc: .init(status: 200, response: "Message")) { request, context, caller in
            let messageID = id(context)
            guard Identifier.isWellFormed(messageID, prefix: SMSMessage.idPrefix) else { throw KaitoError.notFound("The message") }
            return try context.responseEncoder.encode(SMSMessageResponse(try await sms.message(id: messageID, by: caller)))
        }
    }

    private func id(_ context: KaitoRequestContext) -> String { context.parameters.get("id") ?? "" }
}

/// `POST /providers/twilio/sms`: Twilio's messaging webhook, authenticated by `X-Twilio-Signature` alone.
struct TwilioCallbackController {
    let sms: SMSService
    /// The public base URL Twilio calls (`KAITO_PUBLIC_URL`); nil to rebuild it from the request's `Host`.
    let publicURL: String?
    static let bodyLimit = 64 * 1024

    func register(on api: APIRouter) {
        api.addUnauthenticated(.post, "/providers/twilio/sms", summary: "Twilio inbound SMS callback (form-encoded, X-Twilio-Signature); answers empty TwiML",
            doc: .init(
                status: 200, content: "text/xml", request: "TwilioCallback", requestContent: "application/x-www-form-urlencoded",
                problems: [.malformedRequest, .invalidSignature, .notFound, .payloadTooLarge])) { request, context in
            let parameters = try await Self.form(request)
            let url = Self.signedURL(request, publicURL: publicURL)
            switch try await sms.twilioInbound(url: url, parameters: parameters, signature: request.headers[.twilioSignature]) {
            case .stored, .duplicate:
                return Response(status: .ok, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: Self.emptyTwiML)))
            case .badSignature:
                throw KaitoError(.invalidSignature, "The X-Twilio-Signature is missing or not valid for this request.")
            case .unknownNumber:
                throw KaitoError.notFound("The number")
            case .malformed(let field):
                throw KaitoError(.malformedRequest, "The callback lacks a valid \(field).")
            }
        }
        api.addUnauthenticated(.post, "/providers/twilio/status", summary: "Twilio delivery-status callback (form-encoded, X-Twilio-Signature); moves a status forward only",
            doc: .init(
                status: 204, request: "TwilioCallback", requestContent: "application/x-www-form-urlencoded",
                problems: [.malformedRequest, .invalidSignature, .notFound, .payloadTooLarge])) { request, context in
            let parameters = try await Self.form(request)
            let url = Self.signedURL(request, publicURL: publicURL)
            switch try await sms.twilioStatus(url: url, parameters: parameters, signature: request.headers[.twilioSignature]) {
            case .updated, .unchanged:
                return Response(status: .noContent)
            case .badSignature:
                throw KaitoError(.invalidSignature, "The X-Twilio-Signature is missing or not valid for this request.")
            case .unknownMessage:
                throw KaitoError.notFound("The message")
            }
        }
    }

    static let emptyTwiML = #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#

    static func form(_ request: Request) async throws -> [(String, String)] {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            throw KaitoError(.malformedRequest, "Provider callbacks are application/x-www-form-urlencoded.")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > bodyLimit {
            throw KaitoError(.payloadTooLarge, "The request body is larger than \(bodyLimit) bytes.")
        }
        do {
            return try await FormBody.read(request, limit: bodyLimit).fields
        } catch is KaitoError {
            // The decoder's refusal (a size past the limit is Hummingbird's own error, answered as 413).
            throw KaitoError(.malformedRequest, "The form body is malformed.")
        }
    }

    /// The URL Twilio signed: the configured public URL (or `http://<Host>`) with the request's path and query.
    static func signedURL(_ request: Request, publicURL: String?) -> String {
        let base = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? "http://\(request.head.authority ?? "localhost")"
        return base + request.uri.description
    }
}

extension HTTPField.Name {
    static let twilioSignature = Self("X-Twilio-Signature")!
}

extension InboxResponse {
    init(_ inbox: Inbox) {
        self.init(
            id: inbox.id, phoneNumber: inbox.phoneNumber, label: inbox.label, provider: inbox.provider.rawValue,
            createdAt: Timestamp.format(inbox.createdAt), updatedAt: Timestamp.format(inbox.updatedAt))
    }
}

extension SMSMessageResponse {
    init(_ message: SMSMessage) {
        self.init(
            id: message.id, inboxID: message.inboxID, from: message.from, to: message.to, body: message.body,
            receivedAt: Timestamp.format(message.receivedAt), code: message.code)
    }
}

extension OutboundSMSResponse {
    init(_ message: OutboundSMS) {
        self.init(
            id: message.id, inboxID: message.inboxID, from: message.from, to: message.to, body: message.body, status: message.status.rawValue,
            error: message.error, createdAt: Timestamp.format(message.createdAt), updatedAt: Timestamp.format(message.updatedAt))
    }
}

extension TwilioCredentialsResponse {
    init(_ credentials: TwilioCredentials) {
        self.init(accountSID: credentials.accountSID, authTokenSet: true, updatedAt: Timestamp.format(credentials.updatedAt))
    }
}
