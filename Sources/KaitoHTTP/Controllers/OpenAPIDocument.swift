import Foundation
import KaitoCore

/// The OpenAPI 3.1 document, generated from the route table so that no route can exist undocumented:
/// each operation carries its required scope (as a security requirement and `x-kaito-scope`), its rate-limit
/// group and the problem responses every keyed route can give. Response schemas come with issue 9.
enum OpenAPIDocument {
    /// The document as JSON bytes.
    static func json(routes: [RouteDescription]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: make(routes: routes), options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]))
    }

    static func make(routes: [RouteDescription]) -> [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for route in routes {
            paths[route.path, default: [:]][route.method.lowercased()] = operation(route)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Kaito API",
                "version": "1",
                "description": "Shared two-factor secrets for CI jobs, bots and incident tooling. Errors are RFC 9457 problem documents.",
            ],
            "servers": [["url": "/"]],
            "paths": paths,
            "components": [
                "securitySchemes": [
                    "bearer": ["type": "http", "scheme": "bearer", "description": "A Kaito API key (kto_live_...)"]
                ],
                "schemas": [
                    "Problem": [
                        "type": "object",
                        "required": ["type", "title", "status", "detail", "code"],
                        "properties": [
                            "type": ["type": "string"], "title": ["type": "string"], "status": ["type": "integer"],
                            "detail": ["type": "string"], "code": ["type": "string"], "request_id": ["type": "string"],
                            "required_scope": ["type": "string"],
                            "errors": ["type": "array", "items": [
                                "type": "object",
                                "properties": ["field": ["type": "string"], "message": ["type": "string"]],
                            ]],
                        ],
                    ]
                ],
            ],
        ]
    }

    static func operation(_ route: RouteDescription) -> [String: Any] {
        var operation: [String: Any] = [
            "summary": route.summary,
            "operationId": operationID(route),
        ]
        let parameters = route.path.split(separator: "/").filter { $0.hasPrefix("{") }.map { segment -> [String: Any] in
            ["name": String(segment.dropFirst().dropLast()), "in": "path", "required": true, "schema": ["type": "string"]]
        }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        let success = route.method == "POST" && !route.path.hasSuffix("/seed") ? "201" : (route.method == "DELETE" ? "204" : "200")
        var responses: [String: Any] = [success: ["description": "Success"]]
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
        if route.access != .unauthenticated {
            for status in ["400", "401", "403", "404", "422", "429", "503"] {
                responses[status] = problemResponse
            }
            if route.method != "GET" { responses["413"] = problemResponse }
        }
        if let group = route.rateLimitGroup { operation["x-kaito-rate-limit-group"] = group.rawValue }
        operation["responses"] = responses
        return operation
    }

    static var problemResponse: [String: Any] { [
        "description": "Problem",
        "content": ["application/problem+json": ["schema": ["$ref": "#/components/schemas/Problem"]]],
    ] }

    /// `get_v1_tokens_slug_code` style identifiers, unique per method and path.
    static func operationID(_ route: RouteDescription) -> String {
        let path = route.path.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
            .split(separator: "/").joined(separator: "_")
        return route.method.lowercased() + "_" + path
    }
}
