import HTTPTypes
import Hummingbird
import KaitoCore
import NIOCore

/// The security jobs of a keyed API request, one step each, in the order `APIRouter` runs them: who calls
/// (`authenticate`), may it call this route (`authorize`), is it within its rate (`limit`). Each is tested alone
/// (Tests/KaitoHTTPTests/KeyedPipelineTests.swift); the router adds the query parameters, the idempotency key, the
/// handler and, around all of it, the retry of a key that changed on another server, metrics and the log line.
struct KeyedPipeline: Sendable {
    let keys: KeyService
    let rateLimits: any RateLimitStore
    let clock: any KaitoClock
    let clientAddress: ClientAddress

    /// The caller: the key in `Authorization`, seen from the client's address (the forwarded one only behind a
    /// trusted proxy).
    /// - Throws: 401 (`missing_key`, `invalid_key`, `key_expired`, ...); `StaleCredentials` when a key held in memory
    ///   changed on another server.
    func authenticate(_ headers: HTTPFields, peer: SocketAddress?, requestID: String) async throws -> Caller {
        let address = clientAddress.resolve(peer: peer, forwardedFor: headers[values: .xForwardedFor])
        let origin = RequestOrigin(requestID: requestID, userAgent: headers[.userAgent])
        return try await keys.authenticate(authorization: headers[.authorization], address: address, origin: origin)
    }

    /// Whether the caller may call a route with `access`: the key's allowed addresses first, then the route's scopes.
    /// A refusal is audited as a denial about `target` (the token the route names, if any), then thrown.
    /// - Throws: 403 `ip_not_allowed` or `insufficient_scope`.
    func authorize(_ caller: Caller, for access: RouteAccess, target: AuditEvent.Target?) async throws {
        do {
            try caller.requireAllowedAddress()
            switch access {
            case .scope(let scope): try caller.require(scope)
            case .anyOf(let scopes): try caller.require(anyOf: scopes)
            case .anyKey, .unauthenticated: break
            }
        } catch let error as KaitoError {
            try await keys.recordDenial(caller, error: error, target: target)
            throw error
        }
    }

    /// A request's standing in its rate-limit group: let through with the headers every later response carries
    /// (failures included), or refused with the 429 answer (its headers and `Retry-After` on it).
    enum Limit {
        case allowed(headers: HTTPFields)
        case refused(Response)
    }

    /// Takes one request of `group` from the caller's key.
    func limit(_ caller: Caller, group: RateLimitGroup, requestID: String) async throws -> Limit {
        let decision = try await rateLimits.acquire(for: caller.key, group: group, at: clock.now())
        let headers = RateLimitHeaders.fields(group: group, decision: decision)
        guard decision.allowed else {
            let seconds = RateLimitDecision.seconds(decision.retryAfter)
            let error = KaitoError(.rateLimited, "Too many \(group.rawValue) requests for this key; retry in \(seconds) s.", retryAfter: seconds)
            return .refused(ProblemMiddleware.response(for: error, requestID: requestID, headers: headers))
        }
        return .allowed(headers: headers)
    }
}
