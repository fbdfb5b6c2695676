import Foundation

/// Organisations. Names are unique across the server.
public protocol OrganizationRepository: Sendable {
    /// Stores a new organisation. Throws `conflict` when the name is taken.
    func insert(_ organization: Organization) async throws
    /// The organisation with this id, or nil.
    func find(id: String) async throws -> Organization?
    /// The organisation with this name, or nil.
    func find(name: String) async throws -> Organization?
    /// How many organisations exist (zero means the database is new).
    func count() async throws -> Int
    /// Changes the organisation's plan. Returns false when no such organisation exists.
    func setPlan(id: String, plan: Plan) async throws -> Bool
    /// Stores the organisation's plan and subscription (status and period end).
    func setSubscription(_ organization: Organization) async throws
    /// Renames the organisation. Throws `conflict` when the name is taken.
    func rename(id: String, name: String) async throws
}

/// Wrapped data keys: each organisation's current version, and earlier versions while a data-key rotation
/// re-encrypts what they sealed.
public protocol DataKeyRepository: Sendable {
    /// Stores the organisation's first wrapped data key. Throws `conflict` when it already has one.
    func insert(_ wrapped: DataKey.Wrapped, organizationID: String) async throws
    /// The current version of the organisation's wrapped data key, locked for update when `lock` (PostgreSQL), or nil.
    func current(organizationID: String, lock: Bool) async throws -> DataKey.Wrapped?
    /// Every stored version of the organisation's wrapped data key (current and retired).
    func versions(organizationID: String) async throws -> [DataKey.Wrapped]
    /// Every organisation's wrapped data keys, current and retired, locked for update (PostgreSQL), for a
    /// master-key rotation.
    func lockAll() async throws -> [(organizationID: String, wrapped: DataKey.Wrapped)]
    /// Replaces the stored version `wrapped.version` of an organisation's key (a master-key rotation re-wraps it).
    func replace(organizationID: String, with wrapped: DataKey.Wrapped) async throws
    /// Makes `next` the organisation's current version and keeps the one it replaces as retired.
    func advance(organizationID: String, to next: DataKey.Wrapped, at now: Date) async throws
    /// Deletes the organisation's retired versions; returns how many.
    func deleteRetired(organizationID: String) async throws -> Int
    /// The organisation's values of one kind sealed by its data key, ordered by record, those after `cursor`, at
    /// most `limit`, locked for update when `lock` (PostgreSQL).
    func sealedValues(_ kind: SealedValue.Kind, organizationID: String, after cursor: String?, limit: Int, lock: Bool) async throws -> [SealedValue]
    /// Stores a re-encrypted value in place of the one it replaces.
    func replaceSealedValue(_ value: SealedValue, organizationID: String) async throws
    /// A server-wide secret wrapped by the master key, locked for update when `lock` (PostgreSQL), or nil.
    func secret(named name: String, lock: Bool) async throws -> DataKey.Wrapped?
    /// Stores a server-wide secret unless one of that name exists (the first server to start wins); true when
    /// this call stored it.
    @discardableResult
    func insertSecretIfAbsent(named name: String, _ wrapped: DataKey.Wrapped, at now: Date) async throws -> Bool
    /// Replaces a server-wide secret (a rotation re-wraps it).
    func replaceSecret(named name: String, with wrapped: DataKey.Wrapped, at now: Date) async throws
}

/// A value an organisation's data key sealed, as stored: what a data-key rotation re-encrypts.
public struct SealedValue: Sendable, Equatable {
    /// Where it is stored.
    public enum Kind: String, Sendable, CaseIterable {
        /// `tokens.sealed_seed`, by token id.
        case tokenSeed
        /// `webhook_endpoints.sealed_secret`, by endpoint id.
        case webhookSecret
        /// `webhook_endpoints.previous_sealed_secret` (while a rotated secret is still accepted), by endpoint id.
        case previousWebhookSecret
        /// `provider_credentials.sealed_secret`, by provider name.
        case providerSecret
        /// `user_credentials.totp_sealed` (a dashboard user's second factor), by user id.
        case userTOTPSecret
        /// `sms_messages.sealed_body` (an inbound SMS), by message id.
        case smsInboundBody
        /// `sms_outbound.sealed_body` (an SMS sent through the API), by message id.
        case smsOutboundBody
        /// `idempotency_keys.sealed_body` (a response kept for retries), by record id.
        case idempotentResponse
    }

    public var kind: Kind
    /// The row's id within the organisation (token id, endpoint id, provider name).
    public var recordID: String
    public var sealed: [UInt8]

    public init(kind: Kind, recordID: String, sealed: [UInt8]) {
        self.kind = kind
        self.recordID = recordID
        self.sealed = sealed
    }
}

/// API keys. Only hashes are stored.
public protocol APIKeyRepository: Sendable {
    /// Stores a new key record.
    func insert(_ key: APIKey) async throws
    /// The key whose hash is `hash`, in any organisation: the one lookup that finds the caller's organisation.
    func find(hash: [UInt8]) async throws -> APIKey?
    /// The organisation's key with this id, or nil.
    func find(id: String, organizationID: String) async throws -> APIKey?
    /// The organisation's keys ordered by id (creation order), those after `cursor`, at most `limit`.
    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [APIKey]
    /// Marks the key revoked at `at` unless it already is. Returns false when no such key exists.
    func revoke(id: String, organizationID: String, at: Date) async throws -> Bool
    /// Stores the key's changeable fields (name, networks, expiry, token binding, limits), matched by id and organisation.
    func update(_ key: APIKey) async throws
    /// Spends a single-use key in one conditional statement. Returns false when it was already spent (another
    /// request, possibly on another server, won).
    func spend(id: String, organizationID: String, at: Date, ip: String?) async throws -> Bool
    /// Refreshes `last_used_at` and `last_used_ip`.
    func touch(id: String, organizationID: String, at: Date, ip: String?) async throws
    /// Revokes every unrevoked key issued to the user; returns their ids.
    func revokeIssued(userID: String, organizationID: String, at: Date) async throws -> [String]
    /// Revokes every unrevoked key whose `created_by` is `createdBy` (such as `bootstrap`); returns their ids.
    func revokeCreated(by createdBy: String, organizationID: String, at: Date) async throws -> [String]
    /// Removes every per-key rate-limit override of the organisation; returns the ids of the keys that had one.
    func clearRateLimitOverrides(organizationID: String) async throws -> [String]
}

/// TOTP tokens. Slugs are unique within an organisation.
public protocol TokenRepository: Sendable {
    /// Stores a new token. Throws `conflict` when the slug is taken in the organisation.
    func insert(_ token: Token) async throws
    /// The organisation's token with this slug, or nil.
    func find(slug: String, organizationID: String) async throws -> Token?
    /// The organisation's tokens ordered by slug, those after `cursor`, at most `limit`; only `slugs` when given.
    func list(organizationID: String, slugs: [String]?, after cursor: String?, limit: Int) async throws -> [Token]
    /// Replaces the stored metadata, parameters and sealed seed of `token` (matched by id and organisation).
    func update(_ token: Token) async throws
    /// Deletes the token. Returns false when no such token exists.
    func delete(slug: String, organizationID: String) async throws -> Bool
}

/// Audit events and the head of each organisation's chain.
public protocol AuditRepository: Sendable {
    /// The organisation's chain state, its row locked until the transaction ends (created at genesis if absent).
    func lockHead(organizationID: String) async throws -> AuditChainState
    /// Stores the organisation's chain state (anchor, head, end of the unkeyed part, tag).
    func store(_ state: AuditChainState) async throws
    /// Runs `body` with the chain state this server last wrote for the organisation, if it keeps one (with whether
    /// its tag was valid when read): a guess that `append(_:deliveries:from:to:trusted:)` checks, never trusted on its
    /// own. A server that keeps them runs one `body` per chain at a time, so that each links to the one before it.
    func withRememberedHead<T: Sendable>(
        organizationID: String, _ body: @Sendable ((state: AuditChainState, trusted: Bool)?) async throws -> T
    ) async throws -> T
    /// Moves the head from exactly `from` (the whole stored state) to `to` and, only if it moved, stores `events` and
    /// `deliveries` (one statement on PostgreSQL; a conditional update and the inserts on SQLite). Returns whether it
    /// moved.
    func append(
        _ events: [AuditEvent], deliveries: [WebhookDelivery], from: AuditChainState, to: AuditChainState, trusted: Bool
    ) async throws -> Bool
    /// The organisation's chain state without locking; genesis when it has none.
    func state(organizationID: String) async throws -> AuditChainState
    /// Stores an event. Throws `conflict` if its `(org, seq)` is taken.
    func insert(_ event: AuditEvent) async throws
    /// The organisation's events matching `filter`, newest first, with `seq` below `beforeSeq`, at most `limit`.
    func list(organizationID: String, filter: AuditFilter, beforeSeq: Int?, limit: Int) async throws -> [AuditEvent]
    /// Code fetches (`token.code.read`) and denials since `since`, counted by key, token, outcome and hour: one
    /// range of the (org_id, at) index.
    func activity(organizationID: String, since: Date) async throws -> [ActivityCount]
    /// The organisation's events in chain order with `seq` above `afterSeq`, at most `limit` (verification, export).
    func chain(organizationID: String, filter: AuditFilter, afterSeq: Int, limit: Int) async throws -> [AuditEvent]
    /// Every organisation, and every organisation that has (or had) a chain.
    func organizationIDs() async throws -> [String]
    /// Deletes the organisation's events older than `cutoff` (a contiguous run from the oldest). Returns how many
    /// were deleted and the last one deleted (the new anchor, from which the rest still verifies).
    func prune(organizationID: String, olderThan cutoff: Date) async throws -> (deleted: Int, anchor: AuditHead?)
}

/// Webhook endpoints, their deliveries (the outbox) and the attempts of each delivery.
public protocol WebhookRepository: Sendable {
    /// Stores a new endpoint.
    func insert(_ endpoint: WebhookEndpoint) async throws
    /// The organisation's endpoint with this id, or nil.
    func find(id: String, organizationID: String) async throws -> WebhookEndpoint?
    /// The organisation's endpoints ordered by id, those after `cursor`, at most `limit`.
    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [WebhookEndpoint]
    /// Stores an endpoint's changeable fields, matched by id and organisation.
    func update(_ endpoint: WebhookEndpoint) async throws
    /// Stores only an endpoint's health (`failing_since`, and `disabled_at` with its reason when given), leaving
    /// everything a user may be changing at the same moment untouched.
    func setHealth(id: String, organizationID: String, failingSince: Date?, disabledAt: Date?, disabledReason: String?) async throws
    /// Deletes an endpoint with its deliveries. Returns false when no such endpoint exists.
    func delete(id: String, organizationID: String) async throws -> Bool
    /// The organisation's enabled endpoints subscribed to `topic`.
    func activeEndpoints(organizationID: String, topic: WebhookTopic) async throws -> [WebhookEndpoint]
    /// Adds a delivery to the outbox (in the transaction of what caused it).
    func insertDelivery(_ delivery: WebhookDelivery) async throws
    /// Claims up to `limit` due deliveries until `leaseUntil`: a claimed delivery is invisible to other claims
    /// (`FOR UPDATE SKIP LOCKED` on PostgreSQL) until its lease ends, so no two dispatchers send one attempt. No
    /// endpoint gets more than `perEndpoint` leased at once, and no organisation more than `perOrganization`,
    /// counting every server's claims: one tenant's slow receivers cannot fill every dispatcher's slots.
    func claimDue(now: Date, leaseUntil: Date, limit: Int, perEndpoint: Int, perOrganization: Int) async throws -> [WebhookDelivery]
    /// `sms.inbound` deliveries whose stored data still holds the message body (written by an earlier version).
    func smsInboundDeliveriesWithBody(limit: Int) async throws -> [WebhookDelivery]
    /// Replaces a delivery's stored `data`.
    func replaceData(of delivery: WebhookDelivery) async throws
    /// The organisation's delivery with this id, or nil.
    func findDelivery(id: String, organizationID: String) async throws -> WebhookDelivery?
    /// Records an attempt and stores the delivery's new state (its lease released).
    func recordAttempt(_ attempt: WebhookAttempt, delivery: WebhookDelivery) async throws
    /// Stores a delivery's state (manual retry).
    func updateDelivery(_ delivery: WebhookDelivery) async throws
    /// An endpoint's deliveries, newest first, with their attempts.
    func deliveries(endpointID: String, organizationID: String, after cursor: String?, limit: Int) async throws -> [(WebhookDelivery, [WebhookAttempt])]
    /// Deletes the deliveries not leased at `now` whose endpoint no longer exists, with their attempts; how many.
    func deleteOrphanDeliveries(now: Date) async throws -> Int
}

/// SMS inboxes, their inbound messages, and organisations' provider credentials.
public protocol SMSRepository: Sendable {
    /// Stores a new inbox. - Throws: `conflict` when the number already belongs to an inbox (of any organisation).
    func insertInbox(_ inbox: Inbox) async throws
    /// The organisation's inbox with this id, or nil.
    func findInbox(id: String, organizationID: String) async throws -> Inbox?
    /// The inbox of this number, whichever organisation owns it (provider callbacks are routed by the number).
    func findInbox(phoneNumber: String) async throws -> Inbox?
    /// The organisation's inboxes ordered by id, those after `cursor`, at most `limit`.
    func listInboxes(organizationID: String, after cursor: String?, limit: Int) async throws -> [Inbox]
    /// Stores an inbox's label.
    func updateInbox(_ inbox: Inbox) async throws
    /// Deletes an inbox with its messages. Returns false when no such inbox exists.
    func deleteInbox(id: String, organizationID: String) async throws -> Bool
    /// Stores an inbound message unless the provider's message id is already stored; returns whether it stored it.
    func insertMessage(_ message: SMSMessage, provider: SMSProvider) async throws -> Bool
    /// The organisation's message with this id, or nil.
    func findMessage(id: String, organizationID: String) async throws -> SMSMessage?
    /// The organisation's messages matching `filter`, newest first, those older than `cursor`, at most `limit`.
    func listMessages(organizationID: String, filter: SMSMessageFilter, before cursor: String?, limit: Int) async throws -> [SMSMessage]
    /// The oldest message of the inbox (of any inbox of the organisation when nil) whose id sorts after `id` (ids sort
    /// by arrival), or nil.
    func firstMessage(inboxID: String?, organizationID: String, after id: String) async throws -> SMSMessage?
    /// Stores (or replaces) the organisation's Twilio credentials.
    func setTwilioCredentials(_ credentials: TwilioCredentials) async throws
    /// The organisation's Twilio credentials, or nil.
    func twilioCredentials(organizationID: String) async throws -> TwilioCredentials?
    /// Queues an outbound message.
    func insertOutbound(_ message: OutboundSMS) async throws
    /// The organisation's outbound message with this id, or nil.
    func findOutbound(id: String, organizationID: String) async throws -> OutboundSMS?
    /// The outbound message the provider knows by this id, whichever organisation sent it (status callbacks).
    func findOutbound(provider: SMSProvider, providerMessageID: String) async throws -> OutboundSMS?
    /// Claims up to `limit` queued messages not yet accepted by their provider whose attempt is due, until
    /// `leaseUntil` (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so that no two senders send one message.
    func claimDueOutbound(now: Date, leaseUntil: Date, limit: Int) async throws -> [OutboundSMS]
    /// Stores an outbound message's state, releasing its lease.
    func updateOutbound(_ message: OutboundSMS) async throws
    /// Bodies of either direction stored before bodies were sealed (at most `limit` of each).
    func plaintextBodies(limit: Int) async throws -> [PlaintextSMSBody]
    /// Stores `sealed` as the message's body and empties the plaintext `body` (and an inbound message's `code`).
    func replaceBody(_ body: PlaintextSMSBody, sealed: [UInt8]) async throws
}

/// The members of organisations.
public protocol UserRepository: Sendable {
    /// Stores a new user. - Throws: `conflict` when the organisation already has a user with that email.
    func insert(_ user: OrgUser) async throws
    /// The organisation's user with this id, or nil.
    func find(id: String, organizationID: String) async throws -> OrgUser?
    /// The organisation's user with this email (lowercase), or nil.
    func find(email: String, organizationID: String) async throws -> OrgUser?
    /// The organisation's users ordered by id, those after `cursor`, at most `limit`.
    func list(organizationID: String, after cursor: String?, limit: Int) async throws -> [OrgUser]
    /// Deletes a user. Returns false when no such user exists.
    func delete(id: String, organizationID: String) async throws -> Bool
    /// How many owners the organisation has (read with a lock on PostgreSQL, so that two removals cannot both
    /// leave it without one).
    func lockOwners(organizationID: String) async throws -> [String]
    /// The slugs of the tokens granted to the user, in order.
    func grants(userID: String, organizationID: String) async throws -> [String]
    /// Replaces the user's token grants with `slugs`.
    func setGrants(userID: String, organizationID: String, slugs: [String], at: Date) async throws
    /// Removes every grant of the user (the user was removed).
    func deleteGrants(userID: String, organizationID: String) async throws
    /// Removes every grant of the token (the token was deleted, so a new token with its slug is granted to nobody).
    func deleteGrants(tokenSlug: String, organizationID: String) async throws
}

/// Dashboard credentials and sessions.
public protocol AccountRepository: Sendable {
    /// The user's credentials, locked for update when `lock` (PostgreSQL), or nil when no password was set.
    func credentials(userID: String, organizationID: String, lock: Bool) async throws -> UserCredentials?
    /// Stores the user's credentials, replacing what was there.
    func saveCredentials(_ credentials: UserCredentials) async throws
    func insertSession(_ session: DashboardSession) async throws
    /// The session whose token hashes to `tokenHash`, or nil.
    func session(tokenHash: [UInt8]) async throws -> DashboardSession?
    /// Stores a session's changeable fields (token, second factor, expiry, last seen), matched by id.
    func updateSession(_ session: DashboardSession) async throws
    func deleteSession(id: String) async throws
    /// Deletes every session that expired by `now` or was last seen at or before `idleSince` (of any organisation).
    func deleteEndedSessions(expiredBy now: Date, idleSince: Date) async throws -> Int
    /// Ends every session of the user but `keptID` (password changed, user removed); returns how many.
    func deleteSessions(userID: String, organizationID: String, except keptID: String?) async throws -> Int
    /// Deletes the user's credentials (the user was removed).
    func deleteCredentials(userID: String, organizationID: String) async throws
}

/// An SMS body stored in plaintext by an earlier version, to be sealed.
public struct PlaintextSMSBody: Sendable, Equatable {
    public enum Direction: Sendable { case inbound, outbound }
    public var direction: Direction
    public var id: String
    public var organizationID: String
    public var body: String

    public init(direction: Direction, id: String, organizationID: String, body: String) {
        self.direction = direction
        self.id = id
        self.organizationID = organizationID
        self.body = body
    }
}
