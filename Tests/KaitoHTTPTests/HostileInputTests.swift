import Foundation
import HTTPTypes
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoTestSupport
import Testing

/// Hostile request bodies, by class, against every route that takes a JSON body: the routes come from the served
/// OpenAPI document (itself generated from the route table), so a new route is covered without a line here.
@Suite("Hostile inputs: every JSON body route")
struct HostileInputTests {
    /// One operation with a JSON request body, and its body's schema with every `$ref` resolved.
    struct BodyRoute: CustomStringConvertible {
        var method: HTTPRequest.Method
        var path: String
        var schema: [String: Any]
        var description: String { "\(method) \(path)" }

        var properties: [String: [String: Any]] { schema["properties"] as? [String: [String: Any]] ?? [:] }

        /// The fields of the body that are objects, or arrays of objects: (name, object schema, is array).
        var nested: [(name: String, isArray: Bool)] {
            properties.keys.sorted().compactMap { name in
                let property = properties[name] ?? [:]
                if property["type"] as? String == "object" { return (name, false) }
                if (property["items"] as? [String: Any])?["type"] as? String == "object" { return (name, true) }
                return nil
            }
        }

        /// A body whose required fields hold a value of the right JSON type (and an enum's first value), plus `extra`.
        func body(with extra: [String: String] = [:]) -> String {
            var fields: [String: String] = [:]
            for name in schema["required"] as? [String] ?? [] {
                let property = properties[name] ?? [:]
                if let first = (property["enum"] as? [Any])?.first {
                    fields[name] = String(decoding: try! JSONSerialization.data(withJSONObject: first, options: .fragmentsAllowed), as: UTF8.self)
                    continue
                }
                switch property["type"] as? String {
                case "integer": fields[name] = "1"
                case "boolean": fields[name] = "true"
                case "array": fields[name] = "[]"
                case "object": fields[name] = "{}"
                default: fields[name] = #""x""#
                }
            }
            fields.merge(extra) { $1 }
            return "{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!)" }.joined(separator: ", ") + "}"
        }

        /// The path with each `{parameter}` filled by a plausible value (bodies are read before anything is looked up).
        var concretePath: String {
            path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "hostile-input", options: .regularExpression)
        }
    }

    static func routes(_ client: any TestClientProtocol) async throws -> [BodyRoute] {
        let document = try await client.send(.get, "/v1/openapi.json").object()
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: [String: Any]] ?? [:]
        func resolve(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String, let target = schemas[String(reference.split(separator: "/").last ?? "")] {
                    return resolve(target)
                }
                return object.mapValues(resolve)
            }
            if let array = value as? [Any] { return array.map(resolve) }
            return value
        }
        var routes: [BodyRoute] = []
        for (path, operations) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, operation) in operations {
                let content = ((operation as? [String: Any])?["requestBody"] as? [String: Any])?["content"] as? [String: Any]
                guard let json = content?["application/json"] as? [String: Any], let schema = resolve(json["schema"] ?? [:]) as? [String: Any] else { continue }
                routes.append(BodyRoute(method: HTTPRequest.Method(method.uppercased())!, path: path, schema: schema))
            }
        }
        return routes.sorted { $0.description < $1.description }
    }

    /// Everything a refused request must leave as it was: the audit chain's head (every change writes an event), keys, tokens.
    static func state(_ test: TestRuntime) async throws -> [Int] {
        let organizationID = test.organization.id
        return try await test.runtime.storage.read { session in [
            try await session.audit.state(organizationID: organizationID).head.seq,
            try await session.keys.list(organizationID: organizationID, after: nil, limit: 1000).count,
            try await session.tokens.list(organizationID: organizationID, slugs: nil, after: nil, limit: 1000).count,
        ] }
    }

    static func expectRefused(
        _ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, field: String, _ route: BodyRoute
    ) throws {
        #expect(response.status == status, "\(route): \(response.text)")
        let problem = try response.problem()
        #expect(problem.code == code, "\(route)")
        #expect(problem.errors?.contains { $0.field == field } == true, "\(route): \(response.text)")
    }

    @Test("A key given twice, at the top or inside a nested object, is a 400 naming it; nothing changes")
    func duplicateKeys() async throws {
        try await withTestApp { test, client in
            let key = try await test.key(Set(Scope.allCases))
            let routes = try await Self.routes(client)
            #expect(routes.count >= 15, "the document lists the JSON body routes")
            let before = try await Self.state(test)
            for route in routes {
                let name = route.properties.keys.sorted().first ?? "name"
                // Read twice, a reader would check one copy and keep the other; and "\u0061" is "a".
                let escapedName = "\\u00" + String(name.unicodeScalars.first!.value, radix: 16) + name.dropFirst()
                for body in [#"{"\#(name)": "x", "\#(name)": "x"}"#, #"{"\#(name)": 1, "\#(escapedName)": 2}"#] {
                    let response = try await client.send(route.method, route.concretePath, key: key, json: body)
                    try Self.expectRefused(response, .badRequest, "malformed_request", field: name, route)
                }
                for nested in route.nested {
                    let inner = #"{"bogus": 1, "bogus": 2}"#
                    let response = try await client.send(route.method, route.concretePath, key: key,
                                                         json: route.body(with: [nested.name: nested.isArray ? "[\(inner)]" : inner]))
                    try Self.expectRefused(response, .badRequest, "malformed_request", field: nested.name + (nested.isArray ? "[0]" : "") + ".bogus", route)
                }
            }
            #expect(try await Self.state(test) == before)
        }
    }

    @Test("An unknown field inside a nested object is a 422 naming its path; nothing changes")
    func unknownNestedFields() async throws {
        try await withTestApp { test, client in
            let key = try await test.key(Set(Scope.allCases))
            let routes = try await Self.routes(client)
            #expect(routes.contains { !$0.nested.isEmpty }, "some route has a nested object (rate_limits)")
            let before = try await Self.state(test)
            for route in routes {
                for nested in route.nested {
                    for inner in [#"{"bogus": 1}"#, #"{"bogus": null}"#, #"{"bogus": {"deeper": [1]}}"#] {
                        let response = try await client.send(route.method, route.concretePath, key: key,
                                                             json: route.body(with: [nested.name: nested.isArray ? "[\(inner)]" : inner]))
                        try Self.expectRefused(response, .unprocessableContent, "validation_failed",
                                               field: nested.name + (nested.isArray ? "[0]" : "") + ".bogus", route)
                    }
                }
                let top = try await client.send(route.method, route.concretePath, key: key, json: route.body(with: ["bogus": "1"]))
                try Self.expectRefused(top, .unprocessableContent, "validation_failed", field: "bogus", route)
            }
            #expect(try await Self.state(test) == before)
        }
    }

    @Test("rate_limits on POST /v1/keys: an unknown limit group is refused, the known ones still work")
    func rateLimitsNested() async throws {
        try await withTestApp { test, client in
            // Custom limits are a paid plan's.
            #expect(try await client.send(.put, "/v1/org/billing/subscription", key: test.adminKey, json: #"{"plan": "enterprise"}"#).status == .ok)
            let refused = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"], "rate_limits": {"code": 5, "bogus": 1}}"#)
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.problem().errors?.map(\.field) == ["rate_limits.bogus"])
            let made = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"], "rate_limits": {"code": 5}}"#)
            #expect(made.status == .created, "\(made.text)")
            let twice = try await client.send(.post, "/v1/keys", key: test.adminKey, json: #"{"name": "ci", "scopes": ["tokens:code"], "rate_limits": {"code": 5, "code": 500}}"#)
            #expect(twice.status == .badRequest)
            #expect(try twice.problem().errors?.map(\.field) == ["rate_limits.code"])
        }
    }
}

extension HostileInputTests {
    @Test("An otpauth URI's issuer and account are held to the fields' rules: no control character gets in", arguments: [
        "%00", "%01", "%07", "%08", "%0A", "%0D", "%1B", "%7F", "%C2%85", "%E2%80%8B%1B", "%E2%80%AE", "%E2%81%A6", "%E2%80%A8",
        "%E2%80%A9", "%EF%BB%BF", "%E2%80%8F", "%FF", "%C3",
    ])
    func otpauthControlCharacters(character: String) async throws {
        try await withTestApp { test, client in
            let writer = try await test.key([.tokensWrite, .tokensRead])
            for uri in [
                "otpauth://totp/x:acct?secret=JBSWY3DPEHPK3PXP&issuer=A\(character)B",
                "otpauth://totp/Iss\(character)uer:acct?secret=JBSWY3DPEHPK3PXP",
                "otpauth://totp/x:ac\(character)ct?secret=JBSWY3DPEHPK3PXP",
            ] {
                let response = try await client.send(.post, "/v1/tokens", key: writer, json: #"{"slug": "t", "otpauth_uri": "\#(uri)"}"#)
                // U+200B (zero width space) is a format character, not a control one: the %1B after it refuses it.
                // (Control characters at either end are trimmed, as the fields' own values are: these sit inside.)
                #expect(response.status == .unprocessableContent, "\(uri): \(response.text)")
                #expect(try response.problem().errors?.first?.field == "otpauth_uri", "\(uri)")
            }
            #expect(try await client.send(.get, "/v1/tokens", key: writer).decode(ListResponse<TokenResponse>.self).data.isEmpty)
        }
    }
}
