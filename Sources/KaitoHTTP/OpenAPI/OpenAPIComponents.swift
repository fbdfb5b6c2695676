import KaitoCore

/// The named schemas of the OpenAPI document: one per request and response body of `KaitoAPIModels`.
///
/// A response schema lists as required exactly the fields its model always writes (some write `null`, some leave
/// an absent optional out); the schemathesis run in `.ci/run` checks every response against these.
enum OpenAPIComponents {
    typealias S = JSONSchema

    static var schemas: [String: JSONSchema.Object] {
        var schemas: [String: JSONSchema.Object] = [:]
        for part in [problems, tokens, keys, audit, webhooks, sms, organization, operations] {
            schemas.merge(part) { _, _ in preconditionFailure("a schema name is defined twice") }
        }
        return schemas
    }

    static let slugPattern = "^[a-z0-9][a-z0-9-]{0,62}$"
    static let e164Pattern = "^\\+[1-9][0-9]{6,14}$"
    static let noControls = "\\u0000-\\u001f\\u007f-\\u009f"

    /// Free text as the server takes it: at most 200 characters, no control characters.
    static func text(_ description: String? = nil) -> JSONSchema.Object {
        S.string(description, pattern: "^[^\(noControls)]*$", maxLength: 200)
    }

    /// Free text that must not be blank.
    static func nonBlankText(_ description: String? = nil) -> JSONSchema.Object {
        S.string(description, pattern: "^[^\(noControls)]*[^\\s\(noControls)][^\(noControls)]*$", minLength: 1, maxLength: 200)
    }

    /// Exactly one of the fields must be given.
    static func oneOf(_ object: JSONSchema.Object, requiring fields: [String]) -> JSONSchema.Object {
        var copy = object
        copy["oneOf"] = fields.map { ["required": [$0]] }
        return copy
    }

    static var problems: [String: JSONSchema.Object] { [
        "Problem": S.object(
            [
                "type": S.string("/problems/<code>: resolves on the server that answered (GET /problems/{code})", format: "uri-reference"),
                "title": S.string(), "status": S.integer(minimum: 400, maximum: 599), "detail": S.string(),
                "code": S.string("A stable machine string (docs/api.md#errors)"), "request_id": S.string(),
                "required_scope": S.string("With insufficient_scope: the scope the route needs", values: Scope.allCases.map(\.rawValue)),
                "required_plan": S.string("With plan_required: the plan the feature needs", values: Plan.allCases.map(\.rawValue)),
                "errors": S.array(S.object(["field": S.string(), "message": S.string()]), description: "With validation_failed and some malformed_request problems: one entry per field"),
            ],
            required: ["type", "title", "status", "detail", "code"],
            description: "An RFC 9457 problem document (application/problem+json)"),
    ] }

    static var tokens: [String: JSONSchema.Object] {
        let seedFields: [String: JSONSchema.Object] = [
            "secret": S.string("Base32 in any case, with or without = padding and spaces", pattern: "^[A-Za-z2-7= ]+$"),
            "otpauth_uri": S.string("otpauth://totp/...: instead of secret, algorithm, digits and period"),
            "algorithm": S.string(values: OTPAlgorithm.allCases.map(\.rawValue)),
            "digits": S.integer(minimum: 6, maximum: 8),
            "period": S.integer("Seconds", minimum: TOTPParameters.periodRange.lowerBound, maximum: TOTPParameters.periodRange.upperBound),
            "kind": S.string("steam: a Steam Guard token (SHA1, 30 s, five characters)", values: TokenKind.allCases.map(\.rawValue)),
        ]
        let metadata: [String: JSONSchema.Object] = [
            "name": nonBlankText("Defaults to the slug"), "issuer": text(), "account": text(),
        ]
        return [
            "CreateTokenRequest": oneOf(S.object(
                metadata.merging(seedFields) { a, _ in a }.merging(["slug": S.string(pattern: slugPattern)]) { a, _ in a },
                required: ["slug"], description: "Either secret (with algorithm, digits, period) or otpauth_uri"), requiring: ["secret", "otpauth_uri"]),
            "UpdateTokenRequest": S.object(metadata, required: []),
            "RotateSeedRequest": oneOf(S.object(seedFields, required: [], description: "secret or otpauth_uri: the new seed"), requiring: ["secret", "otpauth_uri"]),
            "Token": S.object([
                "slug": S.string(pattern: slugPattern), "name": S.string(), "issuer": S.nullable(S.string()),
                "account": S.nullable(S.string()), "kind": S.string(values: TokenKind.allCases.map(\.rawValue)),
                "algorithm": S.string(values: OTPAlgorithm.allCases.map(\.rawValue)), "digits": S.integer(minimum: 5, maximum: 8),
                "period": S.integer(minimum: TOTPParameters.periodRange.lowerBound, maximum: TOTPParameters.periodRange.upperBound),
                "created_at": S.timestamp(), "updated_at": S.timestamp(),
            ], description: "A token's metadata: never its seed, never a code"),
            "TokenList": S.list(of: "Token"),
            "Code": S.object([
                "code": S.string(), "expires_in": S.integer("Whole seconds left in the current period, 1..period", minimum: 1),
                "period": S.integer(),
            ]),
            "Seed": S.object(["secret": S.string("Base32"), "otpauth_uri": S.string()]),
        ]
    }

    static var keys: [String: JSONSchema.Object] {
        let limits = S.object(
            ["code": S.integer(minimum: 1), "read": S.integer(minimum: 1), "write": S.integer(minimum: 1)], required: [],
            description: "Per-minute limits by endpoint group")
        let respondedLimits = S.object(["code": S.integer(), "read": S.integer(), "write": S.integer()], description: "The limits in force, per minute")
        var scopes = S.array(S.string(values: Scope.allCases.map(\.rawValue)))
        scopes["minItems"] = 1
        scopes["uniqueItems"] = true
        var key: [String: JSONSchema.Object] = [
            "id": S.string(), "name": S.string(), "hint": S.string("The key's last characters, to recognise it"),
            "scopes": scopes, "created_at": S.timestamp(), "created_by": S.string(),
            "expires_at": S.nullable(S.timestamp()), "revoked_at": S.nullable(S.timestamp()),
            "last_used_at": S.nullable(S.timestamp()), "last_used_ip": S.nullable(S.string()),
            "spent_at": S.nullable(S.timestamp()), "allowed_cidrs": S.array(S.string()),
            "token_slugs": S.nullable(S.array(S.string())), "single_use": S.boolean(), "rate_limits": respondedLimits,
            "user_id": S.nullable(S.string()),
        ]
        let required = Array(key.keys)
        key["key"] = S.string("kto_live_...: in the response that creates the key, and never again")
        key["rate_limit_standing"] = S.object(
            Dictionary(uniqueKeysWithValues: RateLimitGroup.allCases.map {
                ($0.rawValue, S.object(["limit": S.integer(), "remaining": S.integer(), "reset": S.integer("Seconds until full")]))
            }), description: "Only in GET /v1/keys/self")
        return [
            "CreateKeyRequest": S.object([
                "name": nonBlankText(), "scopes": scopes,
                "allowed_cidrs": S.array(S.string("An IPv4 or IPv6 CIDR"), maxItems: 100), "expires_at": S.timestamp("In the future"),
                "single_use": S.boolean(), "token_slugs": S.array(S.string()), "rate_limits": limits,
                "user_id": S.string("The user the key is issued to; it acts within that user's role"),
            ], required: ["name", "scopes"]),
            "UpdateKeyRequest": S.object([
                "name": nonBlankText(), "allowed_cidrs": S.nullable(S.array(S.string(), maxItems: 100)),
                "expires_at": S.nullable(S.timestamp()), "token_slugs": S.nullable(S.array(S.string())),
            ], required: [], description: "An absent field stays; null clears it"),
            "Key": S.object(key, required: required, description: "A key's metadata: never the key, never its hash"),
            "KeyList": S.list(of: "Key"),
        ]
    }

    static var audit: [String: JSONSchema.Object] { [
        "AuditEvent": S.object([
            "id": S.string(), "seq": S.integer(minimum: 1), "at": S.timestamp(),
            "actor": S.object(
                ["type": S.string(values: ["key", "user", "system"]), "id": S.string(), "name": S.string()], required: ["type", "id"]),
            "action": S.string(values: AuditAction.allCases.map(\.rawValue)),
            "target": S.nullable(S.object(["type": S.string(), "id": S.string()])),
            "outcome": S.string(values: ["success", "denied"]), "reason": S.nullable(S.string()),
            "ip": S.nullable(S.string()), "user_agent": S.nullable(S.string()), "request_id": S.nullable(S.string()),
            "flagged": S.boolean(), "hash": S.string(pattern: "^[0-9a-f]{64}$"), "prev_hash": S.string(pattern: "^[0-9a-f]{64}$"),
            "count": S.integer(minimum: 1),
        ]),
        "AuditEventList": S.list(of: "AuditEvent"),
    ] }

    static var webhooks: [String: JSONSchema.Object] {
        let topics = S.array(S.string(values: WebhookTopic.allCases.map(\.rawValue)))
        let request: [String: JSONSchema.Object] = [
            "url": S.string("http(s) in RFC 3986 characters, without credentials or fragment; stored normalised (scheme and host lowercased, default port dropped); must resolve to a public address unless the server allows others", format: "uri", pattern: "^https?://", maxLength: 2048),
            "topics": topics,
            "audit_actions": S.array(S.string("An action or a prefix ending in .*")), "description": text(),
            "enabled": S.boolean(),
        ]
        let attempt = S.object([
            "number": S.integer(minimum: 1), "at": S.timestamp(), "status_code": S.integer(), "latency_ms": S.integer(minimum: 0),
            "error": S.string(), "next_attempt_at": S.timestamp(),
        ], required: ["number", "at", "latency_ms"])
        return [
            "CreateWebhookRequest": S.object(request, required: ["url", "topics"]),
            "UpdateWebhookRequest": S.object(request, required: []),
            "Webhook": S.object([
                "id": S.string(), "url": S.string(), "topics": topics, "audit_actions": S.array(S.string()),
                "description": S.string(), "enabled": S.boolean(), "disabled_reason": S.string(),
                "created_at": S.timestamp(), "updated_at": S.timestamp(),
                "secret": S.string("whsec_...: only when the endpoint is created or its secret rotated"),
            ], required: ["id", "url", "topics", "audit_actions", "enabled", "created_at", "updated_at"]),
            "WebhookList": S.list(of: "Webhook"),
            "WebhookDelivery": S.object([
                "id": S.string("The webhook-id of every attempt"), "type": S.string(),
                "status": S.string(values: ["pending", "succeeded", "failed"]), "created_at": S.timestamp(),
                "next_attempt_at": S.timestamp(), "attempts": S.array(attempt),
            ], required: ["id", "type", "status", "created_at", "attempts"]),
            "WebhookDeliveryList": S.list(of: "WebhookDelivery"),
        ]
    }

    static var sms: [String: JSONSchema.Object] { [
        "TwilioCredentialsRequest": S.object(
            ["account_sid": S.string(pattern: "^AC[0-9a-f]{32}$"), "auth_token": S.string(pattern: "^[!-~]{16,128}$")],
            required: ["account_sid", "auth_token"]),
        "TwilioCredentials": S.object([
            "provider": S.string(values: ["twilio"]), "account_sid": S.string(), "auth_token_set": S.boolean(),
            "updated_at": S.timestamp(),
        ], required: ["provider", "auth_token_set"], description: "The Auth Token is never returned"),
        "CreateInboxRequest": S.object([
            "phone_number": S.string("E.164", pattern: e164Pattern), "label": text(),
            "provider": S.string("Default twilio", values: SMSProvider.allCases.map(\.rawValue)),
        ], required: ["phone_number"]),
        "UpdateInboxRequest": S.object(["label": S.nullable(text("null or empty clears it"))], required: []),
        "Inbox": S.object([
            "id": S.string(), "phone_number": S.string(), "label": S.string(),
            "provider": S.string(values: SMSProvider.allCases.map(\.rawValue)), "created_at": S.timestamp(), "updated_at": S.timestamp(),
        ], required: ["id", "phone_number", "provider", "created_at", "updated_at"]),
        "InboxList": S.list(of: "Inbox"),
        "SimulateRequest": S.object(["from": S.string(pattern: e164Pattern), "body": S.string(minLength: 1, maxLength: 1600)], required: ["from", "body"]),
        "Message": S.object([
            "id": S.string(), "inbox_id": S.string(), "from": S.string(), "to": S.string(), "body": S.string(),
            "received_at": S.timestamp(), "code": S.nullable(S.string("The one-time code found in the body, or null")),
        ]),
        "MessageList": S.list(of: "Message"),
        "SendSMSRequest": S.object([
            "from": S.string("An inbox id or its number", minLength: 1), "to": S.string(pattern: e164Pattern),
            "body": S.string(minLength: 1, maxLength: 1600),
        ], required: ["from", "to", "body"]),
        "OutboundMessage": S.object([
            "id": S.string(), "inbox_id": S.string(), "from": S.string(), "to": S.string(), "body": S.string(),
            "status": S.string(values: OutboundSMS.Status.allCases.map(\.rawValue)), "error": S.string(),
            "created_at": S.timestamp(), "updated_at": S.timestamp(),
        ], required: ["id", "inbox_id", "from", "to", "body", "status", "created_at", "updated_at"]),
        "TwilioCallback": [
            "type": "object", "additionalProperties": ["type": "string"],
            "description": "Twilio's form parameters (MessageSid, AccountSid, From, To, Body, MessageStatus, ...)",
        ],
    ] }

    static var organization: [String: JSONSchema.Object] {
        let roles = OrgUser.Role.allCases.map(\.rawValue)
        return [
            "Organization": S.object([
                "id": S.string(), "name": S.string(), "plan": S.string(values: Plan.allCases.map(\.rawValue)), "created_at": S.timestamp(),
            ]),
            "UpdateOrganizationRequest": S.object(["name": S.string(pattern: slugPattern)], required: ["name"]),
            "User": S.object([
                "id": S.string(), "email": S.string(format: "email"), "name": S.string(), "role": S.string(values: roles),
                "created_at": S.timestamp(),
            ], required: ["id", "email", "role", "created_at"]),
            "UserList": S.list(of: "User"),
            "CreateUserRequest": S.object(
                ["email": S.string(format: "email", maxLength: 254), "name": text(), "role": S.string("Default member", values: roles)],
                required: ["email"]),
            "TokenGrants": S.object(["user_id": S.string(), "token_slugs": S.array(S.string(pattern: slugPattern))], required: ["user_id", "token_slugs"]),
            "TokenGrantsRequest": S.object(
                ["token_slugs": S.array(S.string(pattern: slugPattern), description: "Replaces the member's grants; [] grants nothing", maxItems: 100)],
                required: ["token_slugs"]),
            "Billing": S.object([
                "plan": S.string(values: Plan.allCases.map(\.rawValue)),
                "status": S.string("none before any paid plan", values: ["none", "active", "canceled"]),
                "current_period_end": S.nullable(S.timestamp()),
            ]),
            "SubscriptionRequest": S.object(["plan": S.string(values: Plan.allCases.map(\.rawValue))], required: ["plan"]),
        ]
    }

    static var operations: [String: JSONSchema.Object] { [
        "Health": S.object(["status": S.string(values: ["ok"]), "version": S.string("The server's version (semantic versioning)")]),
        "Ready": S.object(["status": S.string(values: ["ready"])]),
        "ProblemType": S.object([
            "code": S.string(values: KaitoError.Code.all.map(\.rawValue)), "title": S.string(), "status": S.integer(minimum: 400, maximum: 599),
            "meaning": S.string(), "reference": S.string("Where the repository's API reference describes it: docs/api.md#<code>"),
        ], description: "What a problem document's type names"),
    ] }
}
