import Hummingbird
import KaitoCore
import Logging

/// Registers routes together with their access rule, and runs each keyed request through one pipeline:
/// authenticate the key, check the route's scope, (restrictions and rate limits go here), run the handler,
/// record metrics. Audit events will wrap the handler's unit of work at the same place.
public final class APIRouter: @unchecked Sendable {
    typealias Context = KaitoRequestContext
    typealias KeyedHandler = @Sendable (Request, Context, Caller) async throws -> Response
    typealias PublicHandler = @Sendable (Request, Context) async throws -> Response

    let router: Router<Context>
    let keys: KeyService
    let metrics: HTTPMetrics
    /// Every route registered so far, in registration order.
    public private(set) var routes: [RouteDescription] = []

    init(router: Router<Context>, keys: KeyService, metrics: HTTPMetrics) {
        self.router = router
        self.keys = keys
        self.metrics = metrics
    }

    /// A route that needs a key with `scope`.
    func add(_ method: HTTPRequest.Method, _ path: String, scope: Scope, summary: String, handler: @escaping KeyedHandler) {
        addKeyed(method, path, access: .scope(scope), summary: summary, handler: handler)
    }

    /// A route that any valid key may call.
    func addForAnyKey(_ method: HTTPRequest.Method, _ path: String, summary: String, handler: @escaping KeyedHandler) {
        addKeyed(method, path, access: .anyKey, summary: summary, handler: handler)
    }

    /// A route without authentication.
    func addUnauthenticated(_ method: HTTPRequest.Method, _ path: String, summary: String, handler: @escaping PublicHandler) {
        let description = register(method, path, access: .unauthenticated, summary: summary)
        let metrics = self.metrics
        router.on(RouterPath(path), method: method) { request, context in
            let start = ContinuousClock.now
            do {
                let response = try await handler(request, context)
                metrics.record(route: path, method: description.method, status: Int(response.status.code), outcome: .public, duration: .now - start)
                return response
            } catch {
                Self.recordFailure(error, metrics, description, .public, start)
                throw error
            }
        }
    }

    private func addKeyed(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String, handler: @escaping KeyedHandler) {
        let description = register(method, path, access: access, summary: summary)
        let keys = self.keys
        let metrics = self.metrics
        router.on(RouterPath(path), method: method) { request, context in
            let start = ContinuousClock.now
            var outcome = HTTPMetrics.ScopeOutcome.unauthenticated
            do {
                let caller = try await keys.authenticate(authorization: request.headers[.authorization])
                var context = context
                context.logger[metadataKey: "key_id"] = .string(caller.key.id)
                if case .scope(let scope) = access {
                    outcome = .denied
                    try caller.require(scope)
                }
                outcome = .granted
                let response = try await handler(request, context, caller)
                metrics.record(route: path, method: description.method, status: Int(response.status.code), outcome: outcome, duration: .now - start)
                return response
            } catch {
                Self.recordFailure(error, metrics, description, outcome, start)
                throw error
            }
        }
    }

    private func register(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String) -> RouteDescription {
        let description = RouteDescription(method: method.rawValue, path: path, access: access, summary: summary)
        precondition(!routes.contains { $0.method == description.method && $0.path == path }, "route \(method) \(path) registered twice")
        routes.append(description)
        return description
    }

    private static func recordFailure(
        _ error: any Error, _ metrics: HTTPMetrics, _ route: RouteDescription, _ outcome: HTTPMetrics.ScopeOutcome,
        _ start: ContinuousClock.Instant
    ) {
        let status = ProblemTable.status(for: ProblemMiddleware.kaitoError(for: error, logger: nil).code)
        metrics.record(route: route.path, method: route.method, status: Int(status.code), outcome: outcome, duration: .now - start)
    }
}
