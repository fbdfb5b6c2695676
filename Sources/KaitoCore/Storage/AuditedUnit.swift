import Foundation

/// Who acts in a change, as the audit log records them: a caller (an API key, or a dashboard user's session), a
/// signed-in or signing-in user, an operator running `kaito admin`, or the server itself (a worker).
public struct Acting: Sendable {
    public var organizationID: String
    public var actor: AuditEvent.Actor
    public var ip: String?
    public var origin: RequestOrigin
    /// The user the acting key was issued to (or the acting user); nil for unbound keys, operators and the system
    /// (no role limit).
    public var userID: String?
    /// Whether the acting key is bound to tokens: it then has no owner powers and acts on members only.
    public var boundToTokens = false

    public init(organizationID: String, actor: AuditEvent.Actor, ip: String? = nil, origin: RequestOrigin = RequestOrigin(), userID: String? = nil) {
        self.organizationID = organizationID
        self.actor = actor
        self.ip = ip
        self.origin = origin
        self.userID = userID
    }

    /// A caller: its key (or its session's user), address and request.
    public init(_ caller: Caller) {
        self.init(
            organizationID: caller.organizationID, actor: caller.actor, ip: caller.address?.description, origin: caller.origin,
            userID: caller.key.userID)
        self.boundToTokens = caller.key.tokenSlugs != nil
    }

    /// A user acting for themselves without a key (signing in or out of the dashboard).
    public static func user(_ user: OrgUser, ip: String?, origin: RequestOrigin) -> Acting {
        Acting(organizationID: user.organizationID, actor: .user(user), ip: ip, origin: origin, userID: user.id)
    }

    /// Whoever runs `kaito admin` on the server's machine, in `organizationID`.
    public static func `operator`(_ organizationID: String) -> Acting {
        Acting(organizationID: organizationID, actor: .operator)
    }

    /// The server itself (`webhook-dispatcher`), in `organizationID`.
    public static func system(_ id: String, in organizationID: String) -> Acting {
        Acting(organizationID: organizationID, actor: .system(id))
    }
}

/// A write unit's transaction, as its body sees it: the storage session, the unit's time, and the one way to add an
/// audit event to it (`record`), which joins the acting organisation's chain in the same transaction: the event is
/// durable exactly when the change is.
public struct AuditedUnit: Sendable {
    public let session: any StorageSession
    /// The unit's time: its events' time unless a record names another.
    public let now: Date
    let log: AuditLog

    /// Appends `record` as done by `acting`, at `time` (the unit's time by default), in this unit's transaction.
    @discardableResult
    public func record(_ record: AuditRecord, by acting: Acting, at time: Date? = nil) async throws -> AuditEvent {
        try await log.append(
            record, actor: acting.actor, organizationID: acting.organizationID, ip: acting.ip, origin: acting.origin, at: time ?? now, in: session)
    }
}
