import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import NIOCore
import NIOHTTP1

/// The operations of the API that the core of `KaitoClient` leaves out, one method each, named after the operation
/// in its doc comment's first words (a test holds every operation of openapi.json to one). Lists come a page at a time
/// (`limit`, `cursor`) or whole as an `AsyncSequence` (`pages(_:)`). The Twilio callbacks are Twilio's to call.
extension KaitoClient {
    // MARK: Operations

    /// `GET /health`: the process is alive, and its version.
    public func health() async throws -> HealthResponse {
        try await send(.GET, "/health", as: HealthResponse.self)
    }

    /// `GET /ready`: whether the server reaches its database (false on 503).
    public func ready() async throws -> Bool {
        do {
            _ = try await send(.GET, "/ready", as: [String: String].self)
            return true
        } catch let error as KaitoClientError where error.status == 503 {
            return false
        }
    }

    /// `GET /metrics`: the Prometheus text.
    public func metrics() async throws -> String {
        String(decoding: try await raw(method: "GET", path: "/metrics", body: nil).body, as: UTF8.self)
    }

    /// `GET /v1/openapi.json`: the OpenAPI document, as the server serves it.
    public func openAPIDocument() async throws -> Data {
        Data(try await raw(method: "GET", path: "/v1/openapi.json", body: nil).body)
    }

    /// `GET /problems/{code}`: what a problem's `type` names.
    public func problemType(code: String) async throws -> ProblemTypeResponse {
        try await send(.GET, "/problems/\(Self.escape(code))", as: ProblemTypeResponse.self)
    }

    // MARK: Tokens

    /// `GET /v1/tokens/{slug}`: a token's metadata.
    public func token(slug: String) async throws -> TokenResponse {
        try await send(.GET, "/v1/tokens/\(Self.escape(slug))", as: TokenResponse.self)
    }

    /// `PATCH /v1/tokens/{slug}`: its name, issuer or account.
    public func updateToken(slug: String, _ change: UpdateTokenRequest) async throws -> TokenResponse {
        try await send(.PATCH, "/v1/tokens/\(Self.escape(slug))", body: change, as: TokenResponse.self)
    }

    /// `GET /v1/tokens/{slug}/seed`: the seed (`tokens:seed`; a flagged audit event).
    public func seed(slug: String) async throws -> SeedResponse {
        try await send(.GET, "/v1/tokens/\(Self.escape(slug))/seed", as: SeedResponse.self)
    }

    /// `POST /v1/tokens/{slug}/seed`: a new seed (a secret or an otpauth URI; a flagged audit event).
    public func rotateSeed(slug: String, _ seed: CreateTokenRequest) async throws -> TokenResponse {
        try await send(.POST, "/v1/tokens/\(Self.escape(slug))/seed", body: seed, as: TokenResponse.self)
    }

    // MARK: Keys

    /// `GET /v1/keys/self`: the calling key, with its rate-limit standing.
    public func currentKey() async throws -> KeyResponse {
        try await send(.GET, "/v1/keys/self", as: KeyResponse.self)
    }

    /// `GET /v1/keys/{id}`: a key's metadata.
    public func key(id: String) async throws -> KeyResponse {
        try await send(.GET, "/v1/keys/\(Self.escape(id))", as: KeyResponse.self)
    }

    /// `PATCH /v1/keys/{id}`: its name, networks, expiry or token binding (`.given(nil)` clears one).
    public func updateKey(id: String, _ change: UpdateKeyRequest) async throws -> KeyResponse {
        try await send(.PATCH, "/v1/keys/\(Self.escape(id))", body: change, as: KeyResponse.self)
    }

    // MARK: Organisation, users, billing

    /// `GET /v1/org`: the caller's organisation.
    public func organization() async throws -> OrganizationResponse {
        try await send(.GET, "/v1/org", as: OrganizationResponse.self)
    }

    /// `PATCH /v1/org`: its name.
    public func updateOrganization(_ change: OrganizationRequest) async throws -> OrganizationResponse {
        try await send(.PATCH, "/v1/org", body: change, as: OrganizationResponse.self)
    }

    /// `GET /v1/org/users`, one page.
    public func users(limit: Int = 50, cursor: String? = nil) async throws -> ListResponse<UserResponse> {
        try await send(.GET, "/v1/org/users?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""), as: ListResponse<UserResponse>.self)
    }

    /// `POST /v1/org/users`: a user (owner, admin or member).
    public func addUser(_ user: UserRequest) async throws -> UserResponse {
        try await send(.POST, "/v1/org/users", body: user, as: UserResponse.self)
    }

    /// `DELETE /v1/org/users/{id}`: the user goes, their keys are revoked.
    public func removeUser(id: String) async throws {
        _ = try await sendAllowingNoContent(.DELETE, "/v1/org/users/\(Self.escape(id))", as: NoContent.self)
    }

    /// `GET /v1/org/users/{id}/token-grants`: the tokens a member sees.
    public func tokenGrants(userID: String) async throws -> TokenGrantsResponse {
        try await send(.GET, "/v1/org/users/\(Self.escape(userID))/token-grants", as: TokenGrantsResponse.self)
    }

    /// `PUT /v1/org/users/{id}/token-grants`: replaces a member's grants.
    public func setTokenGrants(userID: String, _ grants: TokenGrantsRequest) async throws -> TokenGrantsResponse {
        try await send(.PUT, "/v1/org/users/\(Self.escape(userID))/token-grants", body: grants, as: TokenGrantsResponse.self)
    }

    /// `GET /v1/org/billing`: the plan and subscription.
    public func billing() async throws -> BillingResponse {
        try await send(.GET, "/v1/org/billing", as: BillingResponse.self)
    }

    /// `PUT /v1/org/billing/subscription`: changes the plan (what a payment provider's integration calls).
    public func setSubscription(_ subscription: SubscriptionRequest) async throws -> BillingResponse {
        try await send(.PUT, "/v1/org/billing/subscription", body: subscription, as: BillingResponse.self)
    }

    /// `GET /v1/org/providers/twilio`: the organisation's Twilio account (never its token).
    public func twilioCredentials() async throws -> TwilioCredentialsResponse {
        try await send(.GET, "/v1/org/providers/twilio", as: TwilioCredentialsResponse.self)
    }

    /// `PUT /v1/org/providers/twilio`: sets the Twilio account SID and Auth Token (kept sealed).
    public func setTwilioCredentials(_ credentials: TwilioCredentialsRequest) async throws -> TwilioCredentialsResponse {
        try await send(.PUT, "/v1/org/providers/twilio", body: credentials, as: TwilioCredentialsResponse.self)
    }

    // MARK: SMS

    /// `GET /v1/inboxes/{id}`: an inbox.
    public func inbox(id: String) async throws -> InboxResponse {
        try await send(.GET, "/v1/inboxes/\(Self.escape(id))", as: InboxResponse.self)
    }

    /// `PATCH /v1/inboxes/{id}`: its label.
    public func updateInbox(id: String, _ change: InboxRequest) async throws -> InboxResponse {
        try await send(.PATCH, "/v1/inboxes/\(Self.escape(id))", body: change, as: InboxResponse.self)
    }

    /// `GET /v1/sms/messages/{id}`: an inbound message.
    public func message(id: String) async throws -> SMSMessageResponse {
        try await send(.GET, "/v1/sms/messages/\(Self.escape(id))", as: SMSMessageResponse.self)
    }

    /// `GET /v1/sms/outbound/{id}`: a sent SMS and its delivery status.
    public func outboundMessage(id: String) async throws -> OutboundSMSResponse {
        try await send(.GET, "/v1/sms/outbound/\(Self.escape(id))", as: OutboundSMSResponse.self)
    }

    // MARK: Webhooks

    /// `GET /v1/webhooks/{id}`: an endpoint.
    public func webhook(id: String) async throws -> WebhookResponse {
        try await send(.GET, "/v1/webhooks/\(Self.escape(id))", as: WebhookResponse.self)
    }

    /// `PATCH /v1/webhooks/{id}`: its URL, topics, audit actions, description or state.
    public func updateWebhook(id: String, _ change: WebhookRequest) async throws -> WebhookResponse {
        try await send(.PATCH, "/v1/webhooks/\(Self.escape(id))", body: change, as: WebhookResponse.self)
    }

    /// `POST /v1/webhooks/{id}/rotate-secret`: a new secret (in this answer only); the old one signs beside it for 24 hours.
    public func rotateWebhookSecret(id: String) async throws -> WebhookResponse {
        try await send(.POST, "/v1/webhooks/\(Self.escape(id))/rotate-secret", as: WebhookResponse.self)
    }

    /// `POST /v1/webhooks/{id}/test`: queues a `webhook.test` delivery.
    public func testWebhook(id: String) async throws -> WebhookDeliveryResponse {
        try await send(.POST, "/v1/webhooks/\(Self.escape(id))/test", as: WebhookDeliveryResponse.self)
    }

    /// `GET /v1/webhooks/{id}/deliveries`, one page, newest first, with every attempt.
    public func deliveries(webhookID: String, limit: Int = 50, cursor: String? = nil) async throws -> ListResponse<WebhookDeliveryResponse> {
        try await send(.GET, "/v1/webhooks/\(Self.escape(webhookID))/deliveries?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""),
                       as: ListResponse<WebhookDeliveryResponse>.self)
    }

    /// `POST /v1/webhooks/{id}/deliveries/{delivery_id}/retry`: sends a delivery again now.
    public func retryDelivery(webhookID: String, deliveryID: String) async throws -> WebhookDeliveryResponse {
        try await send(.POST, "/v1/webhooks/\(Self.escape(webhookID))/deliveries/\(Self.escape(deliveryID))/retry", as: WebhookDeliveryResponse.self)
    }

    // MARK: Audit

    /// `GET /v1/audit/export`: the organisation's whole chain as NDJSON, oldest first (what `kaito audit verify` checks).
    public func auditExport() async throws -> Data {
        let answer = try await raw(method: "GET", path: "/v1/audit/export", body: nil)
        guard (200..<300).contains(answer.status) else {
            throw KaitoClientError.problem(status: answer.status, problem: try? JSONDecoder().decode(Problem.self, from: Data(answer.body)), retryAfter: nil)
        }
        return Data(answer.body)
    }

    // MARK: Pagination

    /// Every item of a list, page after page, fetched as the sequence is read:
    /// `for try await token in client.pages({ try await client.tokens(limit: 100, cursor: $0) }) { ... }`.
    public func pages<Item: Codable & Sendable>(_ page: @escaping @Sendable (String?) async throws -> ListResponse<Item>) -> Pages<Item> {
        Pages(fetch: page)
    }
}

/// The items of a paginated list as an `AsyncSequence`: the next page is fetched when the last one is used up, with
/// the cursor it ended at, until a page has none.
public struct Pages<Item: Codable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Item
    let fetch: @Sendable (String?) async throws -> ListResponse<Item>

    public struct AsyncIterator: AsyncIteratorProtocol {
        let fetch: @Sendable (String?) async throws -> ListResponse<Item>
        var buffered: [Item] = []
        var cursor: String?
        var finished = false

        public mutating func next() async throws -> Item? {
            while buffered.isEmpty {
                guard !finished else { return nil }
                let page = try await fetch(cursor)
                // A cursor that comes back unchanged would fetch the same page for ever.
                if let next = page.nextCursor, next == cursor {
                    throw KaitoClientError.unexpected("the list's next cursor repeats the one just used: \(next)")
                }
                buffered = page.data.reversed()
                cursor = page.nextCursor
                finished = page.nextCursor == nil
            }
            return buffered.popLast()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fetch: fetch) }
}
