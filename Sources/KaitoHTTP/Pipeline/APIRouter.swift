import Hummingbird
import KaitoCore
import Logging

/// Registers routes together with their access rule, and runs each keyed request through one pipeline:
/// authenticate the key, check the route's scope, (restrictions and rate limits go here), run the handler,
/// record metrics and a log line. Audit events will wrap the handler's unit of work at the same place.
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
        let route = register(method, path, access: .unauthenticated, summary: summary)
        let metrics = self.metrics
        router.on(RouterPath(path), method: method) { request, context in
            try await Self.observe(route, metrics, context) { outcome in
                outcome = .public
                return try await handler(request, context)
            }
        }
    }

    private func addKeyed(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String, handler: @escaping KeyedHandler) {
        let route = register(method, path, access: access, summary: summary)
        let keys = self.keys
        let metrics = self.metrics
        router.on(RouterPath(path), method: method) { request, context in
            var context = context
            return try await Self.observe(route, metrics, context) { outcome in
                let caller = try await keys.authenticate(authorization: request.headers[.authorization])
                context.logger[metadataKey: "key_id"] = .string(caller.key.id)
                if case .scope(let scope) = access {
                    outcome = .denied
                    try caller.require(scope)
                }
                outcome = .granted
                return try await handler(request, context, caller)
            }
        }
    }

    /// Runs `body`, then records the request's metrics and log line, for successes and failures alike.
    private static func observe(
        _ route: RouteDescription, _ metrics: HTTPMetrics, _ context: Context,
        _ body: (inout HTTPMetrics.ScopeOutcome) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        var outcome = HTTPMetrics.ScopeOutcome.unauthenticated
        let status: Int
        do {
            let response = try await body(&outcome)
            status = Int(response.status.code)
            finish(route, status, outcome, start, metrics, context.logger)
            return response
        } catch {
            status = Int(ProblemTable.status(for: ProblemMiddleware.kaitoError(for: error, logger: nil).code).code)
            finish(route, status, outcome, start, metrics, context.logger)
            throw error
        }
    }

    private static func finish(
        _ route: RouteDescription, _ status: Int, _ outcome: HTTPMetrics.ScopeOutcome, _ start: ContinuousClock.Instant,
        _ metrics: HTTPMetrics, _ logger: Logger
    ) {
        let duration = ContinuousClock.now - start
        metrics.record(route: route.path, method: route.method, status: status, outcome: outcome, duration: duration)
        logger.info("request", metadata: [
            "method": .string(route.method), "route": .string(route.path), "status": .stringConvertible(status),
            "scope_outcome": .string(outcome.rawValue), "duration_ms": .stringConvertible(duration.milliseconds),
        ])
    }

    private func register(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String) -> RouteDescription {
        let description = RouteDescription(method: method.rawValue, path: path, access: access, summary: summary)
        precondition(!routes.contains { $0.method == description.method && $0.path == path }, "route \(method) \(path) registered twice")
        routes.append(description)
        return description
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
