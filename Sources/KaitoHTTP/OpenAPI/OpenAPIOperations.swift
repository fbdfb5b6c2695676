import KaitoCore

/// What the route table cannot know about an operation: its bodies, query parameters and the problems its handler
/// can give beyond those of the pipeline (docs/api.md#errors). One entry per route, keyed `METHOD path`; a route without an
/// entry (or an entry without a route) fails the OpenAPI tests.
struct OperationDoc {
    /// The success status and the component schema of its JSON body (nil: no body, or `content` below).
    var status: Int
    var response: String?
    /// A non-JSON success body: its media type.
    var content: String?
    var request: String?
    var requestContent = "application/json"
    var query: [QueryDoc] = []
    /// Problem codes the handler itself can give.
    var problems: [KaitoError.Code] = []
    /// Other success statuses without a body (the long-poll's 204).
    var alsoEmpty: [Int: String] = [:]

    struct QueryDoc {
        var name: String
        var schema: JSONSchema.Object
        var description: String
        var required = false
    }
}

enum OpenAPIOperations {
    typealias S = JSONSchema
    typealias Q = OperationDoc.QueryDoc

    static var page: [Q] { [
        Q(name: "limit", schema: S.integer(minimum: PageLimits.range.lowerBound, maximum: PageLimits.range.upperBound), description: "Page size, default \(PageLimits.defaultLimit)"),
        Q(name: "cursor", schema: S.string(), description: "The next_cursor of the previous page"),
    ] }
    static var auditFilters: [Q] { [
        Q(name: "action", schema: S.string(pattern: "^[a-z_.]+(\\.\\*)?$"), description: "An action, or a prefix such as token.*"),
        Q(name: "actor", schema: S.string(), description: "An actor id (key_..., usr_..., system:...)"),
        Q(name: "target", schema: S.string(), description: "A target id"),
        Q(name: "outcome", schema: S.string(values: ["success", "denied"]), description: "success or denied"),
        Q(name: "flagged", schema: S.boolean(), description: "Only flagged (seed) events, or only unflagged ones"),
        Q(name: "since", schema: S.timestamp(), description: "Events at or after this time"),
        Q(name: "until", schema: S.timestamp(), description: "Events before this time"),
    ] }

    /// The entries, by `METHOD path`.
    static var table: [String: OperationDoc] { [
        "GET /health": .init(status: 200, response: "Health"),
        "GET /ready": .init(status: 200, response: "Ready", problems: [.unavailable]),
        "GET /metrics": .init(status: 200, content: "text/plain"),
        "GET /problems/{code}": .init(status: 200, response: "ProblemType", problems: [.notFound]),
        "GET /v1/openapi.json": .init(status: 200, content: "application/json"),

        "POST /v1/tokens": .init(status: 201, response: "Token", request: "CreateTokenRequest", problems: [.conflict, .tokenNotAllowed]),
        "GET /v1/tokens": .init(status: 200, response: "TokenList", query: page),
        "GET /v1/tokens/{slug}": .init(status: 200, response: "Token"),
        "PATCH /v1/tokens/{slug}": .init(status: 200, response: "Token", request: "UpdateTokenRequest"),
        "DELETE /v1/tokens/{slug}": .init(status: 204),
        "GET /v1/tokens/{slug}/code": .init(status: 200, response: "Code", query: [
            Q(name: "min_valid", schema: S.integer(minimum: 0, maximum: TOTPParameters.periodRange.upperBound - 1),
              description: "If fewer seconds than this are left, wait for the next period's code (0..period-1)"),
        ]),
        "GET /v1/tokens/{slug}/seed": .init(status: 200, response: "Seed"),
        "POST /v1/tokens/{slug}/seed": .init(status: 200, response: "Token", request: "RotateSeedRequest"),

        "POST /v1/keys": .init(status: 201, response: "Key", request: "CreateKeyRequest", problems: [.planRequired, .notFound, .insufficientScope]),
        "GET /v1/keys": .init(status: 200, response: "KeyList", query: page),
        "GET /v1/keys/self": .init(status: 200, response: "Key"),
        "GET /v1/keys/{id}": .init(status: 200, response: "Key"),
        "PATCH /v1/keys/{id}": .init(status: 200, response: "Key", request: "UpdateKeyRequest", problems: [.insufficientScope, .tokenNotAllowed]),
        "DELETE /v1/keys/{id}": .init(status: 204, problems: [.insufficientScope, .tokenNotAllowed]),

        "GET /v1/audit": .init(status: 200, response: "AuditEventList", query: auditFilters + page),
        "GET /v1/audit/export": .init(status: 200, content: "application/x-ndjson", query: auditFilters),

        "POST /v1/webhooks": .init(status: 201, response: "Webhook", request: "CreateWebhookRequest"),
        "GET /v1/webhooks": .init(status: 200, response: "WebhookList", query: page),
        "GET /v1/webhooks/{id}": .init(status: 200, response: "Webhook"),
        "PATCH /v1/webhooks/{id}": .init(status: 200, response: "Webhook", request: "UpdateWebhookRequest"),
        "DELETE /v1/webhooks/{id}": .init(status: 204),
        "POST /v1/webhooks/{id}/rotate-secret": .init(status: 200, response: "Webhook"),
        "POST /v1/webhooks/{id}/test": .init(status: 202, response: "WebhookDelivery"),
        "GET /v1/webhooks/{id}/deliveries": .init(status: 200, response: "WebhookDeliveryList", query: page),
        "POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry": .init(status: 202, response: "WebhookDelivery"),

        "PUT /v1/org/providers/twilio": .init(status: 200, response: "TwilioCredentials", request: "TwilioCredentialsRequest"),
        "GET /v1/org/providers/twilio": .init(status: 200, response: "TwilioCredentials", problems: [.notFound]),
        "POST /v1/inboxes": .init(status: 201, response: "Inbox", request: "CreateInboxRequest", problems: [.conflict]),
        "GET /v1/inboxes": .init(status: 200, response: "InboxList", query: page),
        "GET /v1/inboxes/{id}": .init(status: 200, response: "Inbox"),
        "PATCH /v1/inboxes/{id}": .init(status: 200, response: "Inbox", request: "UpdateInboxRequest"),
        "DELETE /v1/inboxes/{id}": .init(status: 204),
        "POST /v1/inboxes/{id}/simulate": .init(status: 201, response: "Message", request: "SimulateRequest"),
        "GET /v1/sms/messages": .init(status: 200, response: "MessageList", query: [
            Q(name: "inbox", schema: S.string(), description: "Only this inbox's messages"),
            Q(name: "from", schema: S.string(), description: "Only messages from this number"),
            Q(name: "since", schema: S.timestamp(), description: "Only messages received at or after this time"),
        ] + page, problems: [.notFound]),
        "GET /v1/sms/messages/wait": .init(status: 200, response: "Message", query: [
            Q(name: "inbox", schema: S.string(), description: "The inbox to wait on", required: true),
            Q(name: "after", schema: S.string(pattern: "^sms_[0-9A-HJKMNP-TV-Z]{26}$"), description: "A message id: wait for one newer than it"),
            Q(name: "timeout", schema: S.integer(minimum: SMSService.waitRange.lowerBound, maximum: SMSService.waitRange.upperBound),
              description: "Seconds to wait, default 30"),
        ], problems: [.notFound], alsoEmpty: [204: "No message arrived before the timeout"]),
        "POST /v1/sms/messages": .init(status: 202, response: "OutboundMessage", request: "SendSMSRequest", problems: [.planRequired, .notFound]),
        "GET /v1/sms/outbound/{id}": .init(status: 200, response: "OutboundMessage"),
        "GET /v1/sms/messages/{id}": .init(status: 200, response: "Message"),
        "POST /providers/twilio/sms": .init(
            status: 200, content: "text/xml", request: "TwilioCallback", requestContent: "application/x-www-form-urlencoded",
            problems: [.malformedRequest, .invalidSignature, .notFound, .payloadTooLarge]),
        "POST /providers/twilio/status": .init(
            status: 204, request: "TwilioCallback", requestContent: "application/x-www-form-urlencoded",
            problems: [.malformedRequest, .invalidSignature, .notFound, .payloadTooLarge]),

        "GET /v1/org": .init(status: 200, response: "Organization"),
        "PATCH /v1/org": .init(status: 200, response: "Organization", request: "UpdateOrganizationRequest", problems: [.conflict]),
        "GET /v1/org/users": .init(status: 200, response: "UserList", query: page),
        "POST /v1/org/users": .init(status: 201, response: "User", request: "CreateUserRequest", problems: [.conflict, .insufficientScope, .tokenNotAllowed]),
        "DELETE /v1/org/users/{id}": .init(status: 204, problems: [.conflict, .insufficientScope, .tokenNotAllowed]),
        "GET /v1/org/users/{id}/token-grants": .init(status: 200, response: "TokenGrants", problems: [.notFound]),
        "PUT /v1/org/users/{id}/token-grants": .init(status: 200, response: "TokenGrants", request: "TokenGrantsRequest", problems: [.notFound, .conflict]),
        "GET /v1/org/billing": .init(status: 200, response: "Billing"),
        "PUT /v1/org/billing/subscription": .init(status: 200, response: "Billing", request: "SubscriptionRequest"),
    ] }
}
