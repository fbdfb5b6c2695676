import Foundation
import KaitoCore

/// The OpenAPI 3.1 document, generated from the route table (each route registered with its `OperationDoc`), so that
/// no route can exist undocumented: each operation carries its required scope (as a security requirement and `x-kaito-scope`),
/// its rate-limit group (`x-kaito-rate-limit-group`), its query parameters, request and response schemas, and one
/// problem response per status with the exact `code` values that status can carry for that operation. What repeats
/// is written once under `components` and referenced (`$ref`), as GitHub's and Stripe's descriptions do: the headers,
/// the `Idempotency-Key` parameter, and each problem response (one per status and set of codes).
enum OpenAPIDocument {
    typealias S = JSONSchema

    /// The document as JSON bytes: compact as served, or indented as the repository keeps it (`pretty`).
    static func json(routes: [RouteDescription], pretty: Bool = false) throws -> [UInt8] {
        Array(try JSONSerialization.data(
            withJSONObject: make(routes: routes), options: pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]))
    }

    static func make(routes: [RouteDescription]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        var problems: [String: Any] = [:]
        for route in routes {
            paths[route.path, default: [:]][route.method.lowercased()] = operation(route, problems: &problems)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Kaito API",
                "version": "1",
                "description": """
                    Shared two-factor secrets for CI jobs, bots and incident tooling. Errors are RFC 9457 problem \
                    documents; each operation lists, per status, the `code` values it can answer with. \
                    `x-kaito-scope` names the scope a key needs, `x-kaito-rate-limit-group` the per-key limit the \
                    operation counts against.
                    """,
            ],
            "servers": [["url": "/"]],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A Kaito API key (kto_live_...)"]
                ],
                "schemas": OpenAPIComponents.schemas,
                "headers": componentHeaders,
                "parameters": ["IdempotencyKey": idempotencyKeyParameter],
                "responses": problems,
            ],
        ]
    }

    /// The headers responses carry, described once (`headers(rateLimited:)` refers to them).
    static var componentHeaders: [String: Any] { [
        "X-Request-Id": ["required": true, "schema": S.string(), "description": "The client's own, if sane, else a new one"],
        "RateLimit-Policy": ["required": true, "schema": S.string(), "description": "\"<group>\";q=<limit>;w=60"],
        "RateLimit": ["required": true, "schema": S.string(), "description": "\"<group>\";r=<remaining>;t=<seconds until full>"],
        "Retry-After": ["required": true, "schema": S.integer(minimum: 1), "description": "Whole seconds"],
        "Idempotent-Replayed": [
            "required": false, "schema": S.string(values: ["true"]),
            "description": "A retry's answer: the kept response of the first request with its Idempotency-Key",
        ],
    ] }

    static var idempotencyKeyParameter: [String: Any] { [
        "name": "Idempotency-Key", "in": "header", "required": false, "schema": S.string(minLength: 1, maxLength: 255),
        "description": "1 to 255 printable ASCII characters. The first response to this request with this key, from this API key, is kept for 24 hours and replayed to retries with Idempotent-Replayed: true",
    ] }

    static func headerRef(_ name: String) -> [String: Any] { ["$ref": "#/components/headers/\(name)"] }

    static func operation(_ route: RouteDescription) -> [String: Any] {
        var problems: [String: Any] = [:]
        return operation(route, problems: &problems)
    }

    /// The operation of `route`; its problem responses are referred to, and added to `problems` (`components.responses`).
    static func operation(_ route: RouteDescription, problems: inout [String: Any]) -> [String: Any] {
        let doc = route.doc
        var operation: [String: Any] = ["summary": route.summary, "operationId": operationID(route)]
        var parameters = route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { segment -> [String: Any] in
            ["name": String(segment.dropFirst().dropLast()), "in": "path", "required": true, "schema": S.string()]
        }
        parameters += doc.query.map {
            ["name": $0.name, "in": "query", "required": $0.required, "schema": $0.schema, "description": $0.description]
        }
        if route.takesIdempotencyKey { parameters.append(["$ref": "#/components/parameters/IdempotencyKey"]) }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let request = doc.request {
            operation["requestBody"] = ["required": true, "content": [doc.requestContent: ["schema": S.ref(request)]]]
        }

        switch route.access {
        case .unauthenticated:
            operation["security"] = [[String: [String]]]()
        case .anyKey:
            operation["security"] = [["bearer": [String]()]]
            operation["x-kaito-scope"] = NSNull()
        case .scope(let scope):
            operation["security"] = [["bearer": [scope.rawValue]]]
            operation["x-kaito-scope"] = scope.rawValue
        case .anyOf(let scopes):
            // Alternatives: any one of the security requirements suffices.
            operation["security"] = scopes.map { ["bearer": [$0.rawValue]] }
            operation["x-kaito-scope"] = scopes.map(\.rawValue)
        }
        let group = route.rateLimitGroup
        if let group { operation["x-kaito-rate-limit-group"] = group.rawValue }

        var responses: [String: Any] = [:]
        var successHeaders = headers(rateLimited: group != nil)
        if route.takesIdempotencyKey { successHeaders["Idempotent-Replayed"] = headerRef("Idempotent-Replayed") }
        var success: [String: Any] = ["description": "Success", "headers": successHeaders]
        if let schema = doc.response {
            success["content"] = ["application/json": ["schema": S.ref(schema)]]
        } else if let content = doc.content {
            success["content"] = [content: ["schema": S.string()]]
        }
        responses[String(doc.status)] = success
        for (status, description) in doc.alsoEmpty {
            responses[String(status)] = ["description": description, "headers": headers(rateLimited: group != nil)]
        }
        let codes = problemCodes(route, doc)
        for status in Set(codes.map { ProblemTable.status(for: $0).code }) {
            let atStatus = codes.filter { ProblemTable.status(for: $0).code == status }.map(\.rawValue).sorted()
            // One component per status and set of codes, shared by every operation that can give exactly those.
            let name = "Problem\(status)_" + atStatus.joined(separator: "_")
            problems[name] = problemResponse(status: Int(status), codes: atStatus, rateLimited: status == 429)
            responses[String(status)] = ["$ref": "#/components/responses/\(name)"]
        }
        operation["responses"] = responses
        return operation
    }

    /// Every problem code the operation can answer with: the pipeline's (key, address, scope, binding, limit),
    /// the request's (query, body, path) and the handler's own.
    static func problemCodes(_ route: RouteDescription, _ doc: OperationDoc) -> Set<KaitoError.Code> {
        var codes = Set(doc.problems)
        guard route.access != .unauthenticated else { return codes }
        codes.formUnion([.missingKey, .invalidKey, .keyExpired, .ipNotAllowed, .malformedRequest, .unavailable])
        if route.access != .anyKey { codes.insert(.insufficientScope) }
        if route.path.contains("{slug}") { codes.insert(.tokenNotAllowed) }
        if route.path.contains("{") { codes.insert(.notFound) }
        if route.rateLimitGroup != nil { codes.insert(.rateLimited) }
        if doc.request != nil { codes.formUnion([.payloadTooLarge, .validationFailed]) }
        if route.takesIdempotencyKey { codes.formUnion([.idempotencyKeyReused, .idempotencyKeyInUse, .payloadTooLarge]) }
        if doc.query.contains(where: { $0.schema["type"] as? String == "integer" || $0.required || $0.schema["pattern"] != nil }) {
            codes.insert(.validationFailed)
        }
        return codes
    }

    static func headers(rateLimited: Bool) -> [String: Any] {
        var headers: [String: Any] = ["X-Request-Id": headerRef("X-Request-Id")]
        if rateLimited {
            headers["RateLimit-Policy"] = headerRef("RateLimit-Policy")
            headers["RateLimit"] = headerRef("RateLimit")
        }
        return headers
    }

    static func problemResponse(status: Int, codes: [String], rateLimited: Bool) -> [String: Any] {
        var headers = headers(rateLimited: rateLimited)
        if rateLimited { headers["Retry-After"] = headerRef("Retry-After") }
        return [
            "description": "Problem: " + codes.joined(separator: ", "),
            "headers": headers,
            "content": ["application/problem+json": ["schema": [
                "allOf": [
                    S.ref("Problem"),
                    ["properties": ["status": ["const": status], "code": ["enum": codes]]],
                ]
            ]]],
        ]
    }

    /// `get_v1_tokens_slug_code` style identifiers, unique per method and path.
    static func operationID(_ route: RouteDescription) -> String {
        let path = route.path.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
            .split(separator: "/").joined(separator: "_")
        return route.method.lowercased() + "_" + path
    }
}

extension RouteDescription {
    /// Whether the route takes an `Idempotency-Key`: every `POST` that needs a key (`APIRouter.once`).
    var takesIdempotencyKey: Bool { method == "POST" && access != .unauthenticated }

    /// `GET /v1/tokens`: how docs/api.md and the tests name an operation.
    var operationKey: String { "\(method) \(path)" }
}
