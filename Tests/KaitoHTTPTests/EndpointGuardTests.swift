import Foundation
import KaitoAPIModels
import KaitoCore
import KaitoHTTP
import KaitoTestSupport
import Testing

/// The checks every endpoint must pass: no key, a bad or revoked key, a key without the scope, another
/// organisation's resource, malformed, invalid and oversized bodies; and none of them changes anything.
@Suite("Every endpoint guards itself")
struct EndpointGuardTests {
    struct Endpoint: Sendable, CustomTestStringConvertible {
        var method: HTTPRequestMethod
        /// The route as registered.
        var route: String
        /// A valid body, for routes that take one.
        var body: String?
        /// A well-formed body with an invalid value, and the field it names.
        var invalid: (String, String)?
        /// A query string the route needs (placeholders like the route's).
        var query: String?

        var testDescription: String { "\(method) \(route)" }
    }

    static let endpoints: [Endpoint] = [
        Endpoint(method: .post, route: "/v1/tokens", body: #"{"slug": "new", "secret": "JBSWY3DPEHPK3PXP"}"#, invalid: (#"{"slug": "new", "secret": "JBSWY3DPEHPK3PXP", "period": 5}"#, "period")),
        Endpoint(method: .get, route: "/v1/tokens"),
        Endpoint(method: .get, route: "/v1/tokens/{slug}"),
        Endpoint(method: .patch, route: "/v1/tokens/{slug}", body: #"{"name": "renamed"}"#, invalid: (#"{"name": ""}"#, "name")),
        Endpoint(method: .delete, route: "/v1/tokens/{slug}"),
        Endpoint(method: .get, route: "/v1/tokens/{slug}/code"),
        Endpoint(method: .get, route: "/v1/tokens/{slug}/seed"),
        Endpoint(method: .post, route: "/v1/tokens/{slug}/seed", body: #"{"secret": "MZXW6YTBOI4DAMRX"}"#, invalid: (#"{"secret": "not base32!"}"#, "secret")),
        Endpoint(method: .post, route: "/v1/keys", body: #"{"name": "k", "scopes": ["tokens:read"]}"#, invalid: (#"{"name": "k", "scopes": ["root"]}"#, "scopes[0]")),
        Endpoint(method: .get, route: "/v1/keys"),
        Endpoint(method: .get, route: "/v1/keys/self"),
        Endpoint(method: .get, route: "/v1/keys/{id}"),
        Endpoint(method: .patch, route: "/v1/keys/{id}", body: #"{"name": "renamed"}"#, invalid: (#"{"allowed_cidrs": ["10.0.0.0/33"]}"#, "allowed_cidrs[0]")),
        Endpoint(method: .delete, route: "/v1/keys/{id}"),
        Endpoint(method: .post, route: "/v1/webhooks", body: #"{"url": "http://127.0.0.1:9/hook", "topics": ["audit.event"]}"#, invalid: (#"{"url": "http://127.0.0.1:9/hook", "topics": ["nope"]}"#, "topics[0]")),
        Endpoint(method: .get, route: "/v1/webhooks"),
        Endpoint(method: .get, route: "/v1/webhooks/{id}"),
        Endpoint(method: .patch, route: "/v1/webhooks/{id}", body: #"{"description": "x"}"#, invalid: (#"{"url": "http://10.0.0.1/hook"}"#, "url")),
        Endpoint(method: .delete, route: "/v1/webhooks/{id}"),
        Endpoint(method: .post, route: "/v1/webhooks/{id}/rotate-secret"),
        Endpoint(method: .post, route: "/v1/webhooks/{id}/test"),
        Endpoint(method: .get, route: "/v1/webhooks/{id}/deliveries"),
        Endpoint(method: .post, route: "/v1/webhooks/{id}/deliveries/{delivery_id}/retry"),
        Endpoint(method: .get, route: "/v1/audit"),
        Endpoint(method: .get, route: "/v1/audit/export"),
        Endpoint(method: .put, route: "/v1/org/providers/twilio", body: #"{"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "0123456789abcdef0123456789abcdef"}"#, invalid: (#"{"account_sid": "nope", "auth_token": "0123456789abcdef0123456789abcdef"}"#, "account_sid")),
        Endpoint(method: .get, route: "/v1/org/providers/twilio"),
        Endpoint(method: .post, route: "/v1/inboxes", body: #"{"phone_number": "+15550001111", "provider": "simulator"}"#, invalid: (#"{"phone_number": "555-1234"}"#, "phone_number")),
        Endpoint(method: .get, route: "/v1/inboxes"),
        Endpoint(method: .get, route: "/v1/inboxes/{id}"),
        Endpoint(method: .patch, route: "/v1/inboxes/{id}", body: #"{"label": "QA"}"#, invalid: (#"{"label": "a\u0007b"}"#, "label")),
        Endpoint(method: .delete, route: "/v1/inboxes/{id}"),
        Endpoint(method: .post, route: "/v1/inboxes/{id}/simulate", body: #"{"from": "+15550002222", "body": "Your code is 123456"}"#, invalid: (#"{"from": "nope", "body": "x"}"#, "from")),
        Endpoint(method: .get, route: "/v1/sms/messages"),
        Endpoint(method: .get, route: "/v1/sms/messages/wait", query: "?inbox={inbox}&timeout=1"),
        Endpoint(method: .get, route: "/v1/sms/messages/{id}"),
        Endpoint(method: .post, route: "/v1/sms/messages", body: #"{"from": "+15557770000", "to": "+15550004444", "body": "hello"}"#, invalid: (#"{"from": "+15557770000", "to": "nope", "body": "hello"}"#, "to")),
        Endpoint(method: .get, route: "/v1/sms/outbound/{id}"),
        Endpoint(method: .get, route: "/v1/org"),
        Endpoint(method: .patch, route: "/v1/org", body: #"{"name": "renamed-org"}"#, invalid: (#"{"name": "Bad Name!"}"#, "name")),
        Endpoint(method: .get, route: "/v1/org/users"),
        Endpoint(method: .post, route: "/v1/org/users", body: #"{"email": "new@example.com", "role": "member"}"#, invalid: (#"{"email": "nope", "role": "member"}"#, "email")),
        Endpoint(method: .delete, route: "/v1/org/users/{id}"),
        Endpoint(method: .get, route: "/v1/org/users/{id}/token-grants"),
        Endpoint(method: .put, route: "/v1/org/users/{id}/token-grants", body: #"{"token_slugs": []}"#, invalid: (#"{"token_slugs": ["Not A Slug"]}"#, "token_slugs[0]")),
        Endpoint(method: .get, route: "/v1/org/billing"),
        Endpoint(method: .put, route: "/v1/org/billing/subscription", body: #"{"plan": "enterprise"}"#, invalid: (#"{"plan": "platinum"}"#, "plan")),
    ]

    @Test("The table above covers every keyed route of the application")
    func coversEveryRoute() async throws {
        try await withTestRuntime { test in
            let routes = KaitoRoutes(runtime: test.runtime).routes.filter { $0.access != .unauthenticated }
            let registered = Set(routes.map { "\($0.method) \($0.path)" })
            let covered = Set(Self.endpoints.map { "\($0.method.rawValue) \($0.route)" })
            #expect(registered == covered)
            #expect(routes.allSatisfy { $0.path.hasPrefix("/v1/") && $0.rateLimitGroup != nil })
        }
    }

    @Test("Guards", arguments: endpoints)
    func guards(endpoint: Endpoint) async throws {
        try await withTestApp { test, client in
            // Fixtures in the organisation `default`: a token and a key to address.
            let everything = Set(Scope.allCases)
            let owner = try await test.key(everything, name: "owner")
            #expect(try await client.send(.post, "/v1/tokens", key: owner, json: #"{"slug": "aws-prod", "secret": "JBSWY3DPEHPK3PXP"}"#).status == .created)
            let target = try await client.send(.post, "/v1/keys", key: owner, json: #"{"name": "target", "scopes": ["tokens:read"]}"#).decode(KeyResponse.self)
            let hook = try await client.send(.post, "/v1/webhooks", key: owner, json: #"{"url": "http://127.0.0.1:9/hook", "topics": ["audit.event"]}"#).decode(WebhookResponse.self)
            let delivery = try await client.send(.post, "/v1/webhooks/\(hook.id)/test", key: owner).decode(WebhookDeliveryResponse.self)
            let inbox = try await client.send(.post, "/v1/inboxes", key: owner, json: #"{"phone_number": "+15557770000", "provider": "simulator"}"#).decode(InboxResponse.self)
            let message = try await client.send(.post, "/v1/inboxes/\(inbox.id)/simulate", key: owner, json: #"{"from": "+15550003333", "body": "Your code is 424242"}"#).decode(SMSMessageResponse.self)
            _ = try await test.runtime.billing.changePlan(to: Plan.business, by: try await test.runtime.asOperator(in: "default"))
            let outbound = try await client.send(.post, "/v1/sms/messages", key: owner, json: #"{"from": "\#(inbox.id)", "to": "+15550004444", "body": "hello"}"#).decode(OutboundSMSResponse.self)
            let user = try await client.send(.post, "/v1/org/users", key: owner, json: #"{"email": "fixture@example.com", "role": "admin"}"#).decode(UserResponse.self)
            let resourceID = endpoint.route.hasPrefix("/v1/webhooks") ? hook.id
                : endpoint.route.hasPrefix("/v1/org/users") ? user.id
                : endpoint.route.hasPrefix("/v1/sms/outbound") ? outbound.id
                : endpoint.route.hasPrefix("/v1/inboxes") ? inbox.id
                : endpoint.route.hasPrefix("/v1/sms/messages") ? message.id : target.id
            let path = (endpoint.route + (endpoint.query ?? "")).replacingOccurrences(of: "{slug}", with: "aws-prod").replacingOccurrences(of: "{id}", with: resourceID)
                .replacingOccurrences(of: "{delivery_id}", with: delivery.id).replacingOccurrences(of: "{inbox}", with: inbox.id)
            let access = try #require(KaitoRoutes(runtime: test.runtime).routes.first { $0.method == endpoint.method.rawValue && $0.path == endpoint.route }).access
            let revoked = try await test.key(everything, name: "revoked")
            let revokedID = try await client.send(.get, "/v1/keys/self", key: revoked).decode(KeyResponse.self).id
            #expect(try await client.send(.delete, "/v1/keys/\(revokedID)", key: owner).status == .noContent)
            let (other, _) = try await test.otherOrganization()
            let outsider = try await test.key(everything, in: other, name: "outsider")
            var lacking: String?
            if case .scope(let scope) = access {
                lacking = try await test.key(everything.subtracting([scope]), name: "lacking")
            } else if case .anyOf(let scopes) = access {
                lacking = try await test.key(everything.subtracting(scopes), name: "lacking")
            }
            let before = try await snapshot(test)

            // No key, another scheme, garbage, a revoked key.
            var response = try await client.send(endpoint.method, path, json: endpoint.body)
            #expect(response.status == .unauthorized)
            #expect(try response.problem().code == "missing_key")
            #expect(response.headers[.wwwAuthenticate] != nil)
            response = try await client.send(endpoint.method, path, json: endpoint.body, headers: [.authorization: "Basic \(owner)"])
            #expect(try response.problem().code == "missing_key")
            response = try await client.send(endpoint.method, path, key: "kto_live_0000000000000000000000000000000000000", json: endpoint.body)
            #expect(response.status == .unauthorized)
            #expect(try response.problem().code == "invalid_key")
            response = try await client.send(endpoint.method, path, key: revoked, json: endpoint.body)
            #expect(response.status == .unauthorized)
            #expect(try response.problem().code == "invalid_key")

            // Every scope but the one the route needs.
            let needed: [Scope] = switch access {
            case .scope(let scope): [scope]
            case .anyOf(let scopes): scopes
            default: []
            }
            if let lacking, let first = needed.first {
                response = try await client.send(endpoint.method, path, key: lacking, json: endpoint.body)
                #expect(response.status == .forbidden)
                let problem = try response.problem()
                #expect(problem.code == "insufficient_scope")
                #expect(problem.requiredScope == first.rawValue)
                #expect(needed.allSatisfy { problem.detail.contains($0.rawValue) })
            }

            // Another organisation's resources do not exist for its keys.
            if (endpoint.route + (endpoint.query ?? "")).contains("{") {
                response = try await client.send(endpoint.method, path, key: outsider, json: endpoint.body)
                #expect(response.status == .notFound)
                #expect(try response.problem().code == "not_found")
                #expect(!response.text.contains("aws-prod") && !response.text.contains(target.id) && !response.text.contains(hook.id))
                #expect(!response.text.contains(inbox.id) && !response.text.contains("424242"))
            } else if endpoint.method == .get {
                response = try await client.send(endpoint.method, path, key: outsider)
                #expect(response.status == .ok)
                #expect(!response.text.contains("aws-prod") && !response.text.contains(target.id))
                #expect(!response.text.contains(inbox.id) && !response.text.contains("424242"))
            }

            // A query parameter the route does not take is refused (before any effect), on every route.
            let separator = path.contains("?") ? "&" : "?"
            response = try await client.send(endpoint.method, path + separator + "unknown_parameter=1", key: owner, json: endpoint.body)
            #expect(response.status == .badRequest)
            #expect(try response.problem().code == "malformed_request")

            if let body = endpoint.body {
                let malformed = [#"{"name": "#, "[1, 2]", "\"text\"", "", #"{"name": 5, "slug": 6, "secret": 7, "scopes": "x", "url": 8, "topics": 9, "phone_number": 1, "label": 2, "from": 3, "account_sid": 4, "to": 5, "plan": 6, "email": 7, "token_slugs": 8}"#]
                for text in malformed {
                    response = try await client.send(endpoint.method, path, key: owner, json: text)
                    #expect(response.status == .badRequest, "\(text)")
                    #expect(try response.problem().code == "malformed_request")
                }
                let padding = String(repeating: " ", count: 64 * 1024)
                response = try await client.send(endpoint.method, path, key: owner, json: body.replacingOccurrences(of: "{", with: "{" + padding))
                #expect(response.status == .contentTooLarge)
                #expect(try response.problem().code == "payload_too_large")
                if let (invalid, field) = endpoint.invalid {
                    response = try await client.send(endpoint.method, path, key: owner, json: invalid)
                    #expect(response.status == .unprocessableContent)
                    let problem = try response.problem()
                    #expect(problem.code == "validation_failed")
                    #expect(problem.errors?.contains { $0.field == field } == true)
                }
            }
            #expect(try await snapshot(test) == before)
        }
    }

    /// What a failed request must not change: the tokens, the keys of `default`, and the fixture's seed.
    struct Snapshot: Equatable {
        var tokens: [String]
        var keys: [String]
        var seed: [UInt8]
        var inboxes: [String]
        var messages: [String]
        var twilioAccount: String?
        var organization: String
        var users: [String]
    }

    func snapshot(_ test: TestRuntime) async throws -> Snapshot {
        let organizationID = test.organization.id
        return try await test.runtime.storage.read { session in
            let tokens = try await session.tokens.list(organizationID: organizationID, slugs: nil, after: nil, limit: 100)
            let keys = try await session.keys.list(organizationID: organizationID, after: nil, limit: 100)
            let inboxes = try await session.sms.listInboxes(organizationID: organizationID, after: nil, limit: 100)
            let messages = try await session.sms.listMessages(organizationID: organizationID, filter: SMSMessageFilter(), before: nil, limit: 100)
            let twilio = try await session.sms.twilioCredentials(organizationID: organizationID)
            let organization = try await session.organizations.find(id: organizationID)
            let users = try await session.users.list(organizationID: organizationID, after: nil, limit: 100)
            return Snapshot(
                tokens: tokens.map { "\($0.slug) \($0.name) \($0.updatedAt)" },
                keys: keys.map { "\($0.id) \($0.name) \(String(describing: $0.revokedAt)) \($0.allowedCIDRs) \(String(describing: $0.expiresAt)) \(String(describing: $0.tokenSlugs))" },
                seed: tokens.first { $0.slug == "aws-prod" }?.sealedSeed ?? [],
                inboxes: inboxes.map { "\($0.id) \($0.label ?? "-") \($0.phoneNumber)" }, messages: messages.map(\.id),
                twilioAccount: twilio.map { "\($0.accountSID) \($0.sealedAuthToken)" },
                organization: organization.map { "\($0.name) \($0.plan) \($0.subscriptionStatus ?? "-")" } ?? "-",
                users: users.map { "\($0.id) \($0.email) \($0.role)" }
            )
        }
    }
}
