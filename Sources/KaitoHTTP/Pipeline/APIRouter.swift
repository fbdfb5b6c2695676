import Foundation
import HTTPTypes
import Hummingbird
import KaitoCore
import Logging

/// Registers routes together with their access rule, and runs each keyed request through one pipeline, in a
/// fixed order: key valid → not expired → address allowed → scope → rate limit (these steps are `KeyedPipeline`'s)
/// → query parameters → idempotency key
/// (a `POST` with `Idempotency-Key`: `IdempotencyService`) → handler (whose
/// service checks a key's token binding, once, for the API and the dashboard alike); then
/// metrics and a log line. Each denial is the problem response docs/api.md#errors names. The handler's unit of work records
/// the key's use (and, later, the audit event) in its own transaction: see `UnitOfWork.run(for:)`.
public final class APIRouter: @unchecked Sendable {
    typealias Context = KaitoRequestContext
    typealias KeyedHandler = @Sendable (Request, Context, Caller) async throws -> Response
    typealias PublicHandler = @Sendable (Request, Context) async throws -> Response

    let router: Router<Context>
    let keys: KeyService
    let metrics: HTTPMetrics
    let idempotency: IdempotencyService
    /// Authentication, authorization and the rate limit of every keyed request.
    let pipeline: KeyedPipeline
    /// Every route registered so far, in registration order.
    public private(set) var routes: [RouteDescription] = []

    init(
        router: Router<Context>, keys: KeyService, metrics: HTTPMetrics, rateLimits: any RateLimitStore,
        clock: any KaitoClock, clientAddress: ClientAddress, idempotency: IdempotencyService
    ) {
        self.idempotency = idempotency
        self.router = router
        self.keys = keys
        self.metrics = metrics
        self.pipeline = KeyedPipeline(keys: keys, rateLimits: rateLimits, clock: clock, clientAddress: clientAddress)
    }

    /// A route that needs a key with `scope`. Each route is described once, where it is registered: `summary` and `doc`
    /// (its bodies, statuses, problems and query parameters) make its OpenAPI operation, and the query parameters
    /// `doc` names are the only ones it takes (any other is 400); its handler reads them from `context.query`.
    func add(
        _ method: HTTPRequest.Method, _ path: String, scope: Scope, summary: String, doc: OperationDoc, handler: @escaping KeyedHandler
    ) {
        addKeyed(method, path, access: .scope(scope), summary: summary, doc: doc, handler: handler)
    }

    /// A route that needs a key with at least one of `scopes`.
    func add(
        _ method: HTTPRequest.Method, _ path: String, anyOf scopes: [Scope], summary: String, doc: OperationDoc,
        handler: @escaping KeyedHandler
    ) {
        addKeyed(method, path, access: .anyOf(scopes), summary: summary, doc: doc, handler: handler)
    }

    /// A route that any valid key may call.
    func addForAnyKey(_ method: HTTPRequest.Method, _ path: String, summary: String, doc: OperationDoc, handler: @escaping KeyedHandler) {
        addKeyed(method, path, access: .anyKey, summary: summary, doc: doc, handler: handler)
    }

    /// A route without authentication.
    func addUnauthenticated(_ method: HTTPRequest.Method, _ path: String, summary: String, doc: OperationDoc, handler: @escaping PublicHandler) {
        // Only keyed routes read query parameters (`addKeyed` checks them): one documented here would not be checked.
        precondition(doc.query.isEmpty, "\(method) \(path): an unauthenticated route with query parameters")
        let route = register(method, path, access: .unauthenticated, summary: summary, doc: doc)
        let metrics = self.metrics.route(path, method: method.rawValue)
        router.on(RouterPath(path), method: method) { request, context in
            try await Self.observe(route, metrics, context) { outcome in
                outcome = .public
                return try await handler(request, context)
            }
        }
    }

    private func addKeyed(
        _ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String, doc: OperationDoc, handler: @escaping KeyedHandler
    ) {
        let route = register(method, path, access: access, summary: summary, doc: doc)
        let query = Set(doc.query.map(\.name))
        let metrics = self.metrics.route(path, method: method.rawValue)
        let (keys, pipeline, idempotency) = (self.keys, self.pipeline, self.idempotency)
        router.on(RouterPath(path), method: method) { request, context in
            var request = request
            // A body that the second try below must read again (it is a stream, read once): buffered first when the
            // request has an idempotency key, whose kept answer must be that of the body sent.
            if request.method == .post, request.headers[.idempotencyKey] != nil,
               let length = request.headers[.contentLength].flatMap(Int.init), length <= RequestBody.limit {
                _ = try await request.collectBody(upTo: RequestBody.limit)
            }
            let buffered = request
            return try await Self.observe(route, metrics, context) { outcome in
                let request = buffered
                do {
                    return try await keyed(request, context, &outcome)
                } catch is StaleCredentials {
                    // Another server changed the key a moment ago and this one still held it in memory: forget it and
                    // authorize the request again from the database (its audit event was not written).
                    keys.forgetCachedKeys()
                    do {
                        return try await keyed(request, context, &outcome)
                    } catch is StaleCredentials {
                        // Changed again within the request: ask the client to try again.
                        throw KaitoError(.unavailable, "The key changed while the request ran; retry it.", retryAfter: 1)
                    }
                }
            }
        }

        @Sendable func keyed(_ request: Request, _ context: Context, _ outcome: inout HTTPMetrics.ScopeOutcome) async throws -> Response {
            var context = context
            let caller = try await pipeline.authenticate(request.headers, peer: context.remoteAddress, requestID: context.requestID)
            context.logger[metadataKey: "key_id"] = .string(caller.key.id)
            // The token a denial is about, from the route's own parameters (only token routes have a slug).
            let target = context.parameters.get("slug").map { AuditEvent.Target(type: "token", id: $0) }
            outcome = .denied
            try await pipeline.authorize(caller, for: access, target: target)
            outcome = .granted
            guard let group = route.rateLimitGroup else {
                context.query = try QueryParameters(request, allowed: query)
                return try await Self.once(request, context, caller, idempotency) { request in try await handler(request, context, caller) }
            }
            let headers: HTTPFields
            switch try await pipeline.limit(caller, group: group, requestID: context.requestID) {
            case .refused(let response):
                outcome = .limited
                return response
            case .allowed(let limitHeaders):
                headers = limitHeaders
            }
            // From here every response, failures included, carries the limit headers.
            do {
                context.query = try QueryParameters(request, allowed: query)
                var response = try await Self.once(request, context, caller, idempotency) { request in try await handler(request, context, caller) }
                response.headers.append(contentsOf: headers)
                return response
            } catch let stale as StaleCredentials {
                throw stale
            } catch {
                var kaitoError = ProblemMiddleware.kaitoError(for: error, logger: context.logger)
                if [401, 403].contains(ProblemTable.status(for: kaitoError.code).code) {
                    // A refusal inside the handler (a key bound to other tokens — checked once, by the service —, the
                    // plan, a lost single-use race) is a denial: audited, and counted as one.
                    outcome = .denied
                    do { try await keys.recordDenial(caller, error: kaitoError, target: target) } catch let failure as KaitoError { kaitoError = failure }
                }
                return ProblemMiddleware.response(for: kaitoError, requestID: context.requestID, headers: headers)
            }
        }
    }

    /// Runs `handler` once per idempotency key: a `POST` with `Idempotency-Key` claims the key for its method, path and
    /// body (`IdempotencyService`); its response, a refusal too, is kept and replayed to the retries with
    /// `Idempotent-Replayed: true`. A server error, a rate limit, a denial (401, 403: audited again on the retry) or a
    /// failure before any response lets go of the key, so that the retry runs. Other methods ignore the header.
    static func once(
        _ request: Request, _ context: Context, _ caller: Caller, _ idempotency: IdempotencyService, _ handler: (Request) async throws -> Response
    ) async throws -> Response {
        guard request.method == .post, let key = request.headers[.idempotencyKey] else { return try await handler(request) }
        guard IdempotencyService.isValid(key) else {
            throw KaitoError(.malformedRequest, "Idempotency-Key must be 1 to 255 printable ASCII characters.")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > RequestBody.limit {
            throw KaitoError(.payloadTooLarge, "The request body is larger than \(RequestBody.limit) bytes.")
        }
        var request = request
        let body = try await request.collectBody(upTo: RequestBody.limit)
        let fingerprint = IdempotencyService.fingerprint(method: request.method.rawValue, path: request.uri.description, body: Array(body.readableBytesView))
        switch try await idempotency.start(key: key, fingerprint: fingerprint, caller: caller) {
        case .replay(let kept):
            var headers: HTTPFields = [.cacheControl: "no-store", .idempotentReplayed: "true"]
            if let type = kept.contentType { headers[.contentType] = type }
            if let location = kept.location { headers[.location] = location }
            return Response(status: HTTPResponse.Status(code: kept.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: kept.body)))
        case .run(let claim):
            var response: Response
            do {
                response = try await IdempotencyService.$running.withValue(claim) { try await handler(request) }
            } catch let error as KaitoError where ![401, 403, 429].contains(ProblemTable.status(for: error.code).code)
                && ProblemTable.status(for: error.code).code < 500 {
                // A refusal of the request itself (malformed, invalid, not found, a conflict) is its answer, kept too.
                response = ProblemMiddleware.response(for: error, requestID: context.requestID, headers: [:])
            } catch {
                try? await idempotency.abandon(claim)
                throw error
            }
            guard response.status.code < 500, response.status != .tooManyRequests else {
                try? await idempotency.abandon(claim)
                return response
            }
            let collected = Collected()
            try await response.body.write(collected)
            var kept = response
            kept.body = .init(byteBuffer: collected.buffer.value)
            do {
                try await idempotency.finish(claim, IdempotentResponse(
                    status: Int(response.status.code), contentType: response.headers[.contentType], location: response.headers[.location],
                    body: Array(collected.buffer.value.readableBytesView)))
            } catch {
                // The change is made: this answer still goes out. Its retries are told it took effect (`start`).
                context.logger.error("an idempotent answer could not be kept", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            return kept
        }
    }

    /// A response body, collected to be kept (`once`).
    private struct Collected: ResponseBodyWriter {
        final class Buffer: @unchecked Sendable { var value = ByteBuffer() }
        let buffer = Buffer()
        mutating func write(_ part: ByteBuffer) async throws {
            var part = part
            buffer.value.writeBuffer(&part)
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// Runs `body`, then records the request's metrics and log line, for successes and failures alike.
    private static func observe(
        _ route: RouteDescription, _ metrics: RouteMetrics, _ context: Context,
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
        _ metrics: RouteMetrics, _ logger: Logger
    ) {
        let duration = ContinuousClock.now - start
        metrics.record(status: status, outcome: outcome, duration: duration)
        logger.info("request", metadata: [
            "method": .string(route.method), "route": .string(route.path), "status": .stringConvertible(status),
            "scope_outcome": .string(outcome.rawValue), "duration_ms": .stringConvertible(duration.milliseconds),
        ])
    }

    /// The methods of the routes whose template matches `path` (`{name}` matches any one segment), in registration
    /// order. Like the router, a literal segment wins over a parameter: `/v1/keys/self` is GET only.
    func allowedMethods(path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (literals: Int, methods: [String]) = (-1, [])
        for route in routes {
            let template = route.path.split(separator: "/", omittingEmptySubsequences: true)
            guard template.count == segments.count, zip(template, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }) else { continue }
            let literals = template.filter { !$0.hasPrefix("{") }.count
            if literals > best.literals { best = (literals, []) }
            if literals == best.literals, !best.methods.contains(route.method) { best.methods.append(route.method) }
        }
        return best.methods
    }

    private func register(_ method: HTTPRequest.Method, _ path: String, access: RouteAccess, summary: String, doc: OperationDoc) -> RouteDescription {
        let description = RouteDescription(method: method.rawValue, path: path, access: access, summary: summary, doc: doc)
        precondition(!routes.contains { $0.method == description.method && $0.path == path }, "route \(method) \(path) registered twice")
        routes.append(description)
        return description
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
