import KaitoCore

/// Who may call a route. Every route states one; `APIRouter` offers no way to register a route without it.
public enum RouteAccess: Sendable, Equatable {
    /// A valid key that carries this scope.
    case scope(Scope)
    /// A valid key that carries at least one of these scopes (`GET /v1/inboxes`: `org:admin` or `sms:read`).
    case anyOf([Scope])
    /// Any valid key (`GET /v1/keys/self`).
    case anyKey
    /// No key: health, readiness, metrics, the OpenAPI document.
    case unauthenticated
}

/// A registered route, as the route table lists it (for the OpenAPI document and the tests that check it).
public struct RouteDescription: Sendable {
    public let method: String
    public let path: String
    public let access: RouteAccess
    public let summary: String
    /// What the OpenAPI document says of it beyond its path, method, access and summary.
    let doc: OperationDoc

    /// `code` for the code fetch, `read` for other GETs under /v1, `write` for other methods under /v1.
    public var rateLimitGroup: RateLimitGroup? {
        guard path.hasPrefix("/v1/"), access != .unauthenticated else { return nil }
        if method == "GET" { return path == "/v1/tokens/{slug}/code" ? .code : .read }
        return .write
    }
}
