import Foundation

/// The rules for what a caller may mint or change: a key never ends up with more reach than the key that made it.
///
/// - Restrictions: the acting key's `allowed_cidrs`, `token_slugs` and `expires_at` bound every key it creates or
///   changes. A field the request leaves out takes the acting key's value; a value outside it is refused. So a
///   restricted key cannot lift its own restrictions, nor mint an unrestricted key.
/// - Users: a key may be issued to the acting user's own account or to users that role may act for (an admin for
///   admins and members, never for an owner); a key issued to nobody carries owner powers, so only an owner or
///   another key issued to nobody (the bootstrap key, an operator) makes one.
enum KeyIssuance {
    /// `draft` with the acting key's restrictions applied where it names none.
    /// - Throws: `validation_failed` naming each field that reaches beyond the acting key's.
    static func bounded(_ draft: KeyDraft, by acting: APIKey) throws -> KeyDraft {
        var draft = draft
        if draft.allowedCIDRs.isEmpty { draft.allowedCIDRs = acting.allowedCIDRs }
        if draft.tokenSlugs == nil { draft.tokenSlugs = acting.tokenSlugs }
        if draft.expiresAt == nil { draft.expiresAt = acting.expiresAt }
        try requireWithin(acting, cidrs: draft.allowedCIDRs, slugs: draft.tokenSlugs, expiresAt: draft.expiresAt, checking: [.cidrs, .slugs, .expiry])
        return draft
    }

    /// - Throws: `validation_failed` when `changed` reaches beyond the acting key in a restriction the change
    ///   touched (one left as it was is never a reason to refuse).
    static func requireWithin(_ acting: APIKey, changed: APIKey, from original: APIKey) throws {
        var touched: Set<Restriction> = []
        if changed.allowedCIDRs != original.allowedCIDRs { touched.insert(.cidrs) }
        if changed.tokenSlugs != original.tokenSlugs { touched.insert(.slugs) }
        if changed.expiresAt != original.expiresAt { touched.insert(.expiry) }
        try requireWithin(acting, cidrs: changed.allowedCIDRs, slugs: changed.tokenSlugs, expiresAt: changed.expiresAt, checking: touched)
    }

    enum Restriction { case cidrs, slugs, expiry }

    private static func requireWithin(
        _ acting: APIKey, cidrs: [CIDR], slugs: [String]?, expiresAt: Date?, checking: Set<Restriction>
    ) throws {
        var errors: [KaitoError.FieldError] = []
        if checking.contains(.cidrs), !acting.allowedCIDRs.isEmpty {
            let networks = acting.allowedCIDRs.map(\.description).joined(separator: ", ")
            if cidrs.isEmpty {
                errors.append(.init(field: "allowed_cidrs", message: "must stay within the calling key's networks (\(networks))"))
            }
            for (index, cidr) in cidrs.enumerated() where !acting.allowedCIDRs.contains(where: { $0.contains(cidr) }) {
                errors.append(.init(field: "allowed_cidrs[\(index)]", message: "\(cidr) is outside the calling key's networks (\(networks))"))
            }
        }
        if checking.contains(.slugs), let bound = acting.tokenSlugs {
            if let slugs {
                for (index, slug) in slugs.enumerated() where !bound.contains(slug) {
                    errors.append(.init(field: "token_slugs[\(index)]", message: "'\(slug)' is not among the calling key's tokens"))
                }
            } else {
                errors.append(.init(field: "token_slugs", message: "must stay within the calling key's tokens"))
            }
        }
        if checking.contains(.expiry), let limit = acting.expiresAt, (expiresAt ?? .distantFuture) > limit {
            errors.append(.init(field: "expires_at", message: "must not be after the calling key's expiry (\(Timestamp.format(limit)))"))
        }
        if !errors.isEmpty { throw KaitoError.validation(errors) }
    }

    /// - Throws: `insufficient_scope` when the acting caller may not `action` a key issued to `userID` (an unknown one
    ///   is left to the key's own validation). Owner powers are an unbound key's issued to nobody or to an owner; only
    ///   a caller with owner powers (an owner, or an unbound key issued to nobody) creates, changes or revokes such a
    ///   key, and a key bound to tokens has none, whoever holds it (it reaches no further than its tokens).
    static func requireMayIssue(
        to userID: String?, unbound: Bool, by caller: Caller, session: any StorageSession, action: String = "create"
    ) async throws {
        let actingUserID = caller.user?.id ?? caller.key.userID
        if let actingUserID, actingUserID == userID { return }
        let role = try await actingUserID.asyncMap { try await session.users.find(id: $0, organizationID: caller.organizationID)?.role } ?? nil
        if caller.key.tokenSlugs == nil, actingUserID == nil || role == .owner { return }
        guard let userID else {
            guard unbound else { return }  // a bound key issued to nobody has no owner powers to confer
            throw KaitoError(
                .insufficientScope,
                "Only an owner's (unbound) key can \(action) an unbound key issued to nobody (it has owner powers)\(action == "create" ? "; set user_id" : "").",
                requiredScope: .orgAdmin)
        }
        if try await session.users.find(id: userID, organizationID: caller.organizationID)?.role == .owner {
            throw KaitoError(.insufficientScope, "Only an owner's (unbound) key can \(action) a key issued to an owner.", requiredScope: .orgAdmin)
        }
    }

    /// - Throws: `token_not_allowed` when a key bound to tokens would `action` a key that reaches further than it;
    ///   `insufficient_scope` as `requireMayIssue` for the key's user. A key may always act on itself (its own
    ///   restrictions bound the change).
    static func requireMayAct(on target: APIKey, by caller: Caller, session: any StorageSession, action: String) async throws {
        guard target.id != caller.key.id else { return }
        if let bound = caller.key.tokenSlugs, !(target.tokenSlugs.map { Set($0).isSubset(of: bound) } ?? false) {
            throw KaitoError(.tokenNotAllowed, "This key is bound to tokens; it can \(action) only keys bound within them.")
        }
        try await requireMayIssue(to: target.userID, unbound: target.tokenSlugs == nil, by: caller, session: session, action: action)
    }
}

extension CIDR {
    /// Whether every address of `other` is in this network.
    func contains(_ other: CIDR) -> Bool {
        other.prefixLength >= prefixLength && contains(other.network)
    }
}
