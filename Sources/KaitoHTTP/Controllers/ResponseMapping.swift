import KaitoAPIModels
import KaitoCore

extension TokenResponse {
    init(_ token: Token) {
        self.init(
            slug: token.slug, name: token.name, issuer: token.issuer, account: token.account,
            kind: token.parameters.kind.rawValue, algorithm: token.parameters.algorithm.rawValue,
            digits: token.parameters.digits, period: token.parameters.period,
            createdAt: Timestamp.format(token.createdAt), updatedAt: Timestamp.format(token.updatedAt)
        )
    }
}

extension KeyResponse {
    init(_ key: APIKey, secret: APIKeySecret? = nil) {
        self.init(
            id: key.id, name: key.name, hint: key.hint, scopes: key.scopes.sorted().map(\.rawValue),
            createdAt: Timestamp.format(key.createdAt), createdBy: key.createdBy,
            expiresAt: key.expiresAt.map(Timestamp.format), revokedAt: key.revokedAt.map(Timestamp.format),
            lastUsedAt: key.lastUsedAt.map(Timestamp.format), lastUsedIP: key.lastUsedIP,
            spentAt: key.spentAt.map(Timestamp.format), allowedCIDRs: key.allowedCIDRs.map(\.description),
            tokenSlugs: key.tokenSlugs, singleUse: key.singleUse,
            rateLimits: RateLimitsBody(
                code: key.rateLimits.limit(for: .code), read: key.rateLimits.limit(for: .read),
                write: key.rateLimits.limit(for: .write)),
            key: secret?.value
        )
        self.userID = key.userID
    }
}

extension KaitoCore.Page {
    func response<Output: Codable & Sendable>(cursor: (Item) -> String, _ transform: (Item) -> Output) -> ListResponse<Output> {
        ListResponse(data: items.map(transform), nextCursor: nextCursor.map { _ in Cursor.encode(cursor(items.last!)) })
    }
}
