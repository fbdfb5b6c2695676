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
            key: secret?.value
        )
    }
}

extension KaitoCore.Page {
    func response<Output: Codable & Sendable>(cursor: (Item) -> String, _ transform: (Item) -> Output) -> ListResponse<Output> {
        ListResponse(data: items.map(transform), nextCursor: nextCursor.map { _ in Cursor.encode(cursor(items.last!)) })
    }
}
