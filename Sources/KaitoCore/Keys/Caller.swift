import Foundation

/// Who a request acts for, and the address it came from; every operation runs on behalf of one: an API key, or a
/// user signed in to the dashboard, whose `key` is then the session's stand-in carrying the scopes of the user's
/// role (it exists in memory only: it is never stored, spent or rate limited as a key).
public struct Caller: Sendable {
    public var key: APIKey
    /// The client's address (the socket peer, or what a trusted proxy reported); nil when unknown.
    public var address: IPAddress?
    /// The request's id and user agent, for the audit log.
    public var origin: RequestOrigin
    /// The dashboard user, for a signed-in session; nil for an API key.
    public var user: OrgUser?
    public var organizationID: String { key.organizationID }

    public init(key: APIKey, address: IPAddress? = nil, origin: RequestOrigin = RequestOrigin(), user: OrgUser? = nil) {
        self.key = key
        self.address = address
        self.origin = origin
        self.user = user
    }

    /// The caller as the audit log names it: the user of a dashboard session, otherwise the key.
    public var actor: AuditEvent.Actor {
        if let user { return .user(user) }
        return .key(key)
    }

    /// How records name who made them (`created_by`): `user:<id>` or `key:<id>`.
    public var reference: String { user.map { "user:\($0.id)" } ?? "key:\(key.id)" }

    /// - Throws: `ip_not_allowed` when the key has an allow-list and the address is outside it (or unknown).
    public func requireAllowedAddress() throws {
        guard !key.allowedCIDRs.isEmpty else { return }
        guard let address, key.allowedCIDRs.contains(where: { $0.contains(address) }) else {
            throw KaitoError(.ipNotAllowed, "This key may not be used from \(address.map { "\($0)" } ?? "an unknown address").")
        }
    }

    /// - Throws: `insufficient_scope` naming `scope` unless the key carries it.
    public func require(_ scope: Scope) throws {
        guard key.scopes.contains(scope) else {
            throw KaitoError(.insufficientScope, "This key lacks the scope \(scope.rawValue).", requiredScope: scope)
        }
    }

    /// - Throws: `insufficient_scope` naming the first of `scopes` unless the key carries one of them.
    public func require(anyOf scopes: [Scope]) throws {
        guard !key.scopes.isDisjoint(with: scopes) else {
            let names = scopes.map(\.rawValue).joined(separator: " or ")
            throw KaitoError(.insufficientScope, "This key lacks the scope \(names).", requiredScope: scopes.first)
        }
    }

    /// Whether the key may act on the token `slug`.
    public func allowsToken(_ slug: String) -> Bool {
        key.tokenSlugs.map { $0.contains(slug) } ?? true
    }

    /// - Throws: `token_not_allowed` when the key is bound to other tokens.
    public func requireToken(_ slug: String) throws {
        guard allowsToken(slug) else {
            throw KaitoError(.tokenNotAllowed, "This key is bound to other tokens.")
        }
    }

    /// Whether using the key at `now` must be written: a single-use key is spent, and `last_used_at` is refreshed
    /// when it is older than `APIKey.lastUsedResolution` or the address changed.
    public func mustRecordUse(at now: Date) -> Bool {
        guard user == nil else { return false }  // a session's stand-in key is not stored
        if key.singleUse { return true }
        guard let last = key.lastUsedAt else { return true }
        return now.timeIntervalSince(last) >= APIKey.lastUsedResolution || key.lastUsedIP != address?.description
    }

    /// Records the use in the request's own transaction.
    /// - Throws: `invalid_key` when another request spent this single-use key first (the transaction rolls back).
    public func recordUse(in session: any StorageSession, at now: Date) async throws {
        let ip = address?.description
        if key.singleUse {
            guard try await session.keys.spend(id: key.id, organizationID: organizationID, at: now, ip: ip) else {
                throw KaitoError(.invalidKey, "The single-use key has already been used.")
            }
        } else {
            try await session.keys.touch(id: key.id, organizationID: organizationID, at: now, ip: ip)
        }
    }
}
