import Crypto
import Foundation
import KaitoAPIModels
import KaitoCore
@testable import KaitoHTTP
import KaitoTestSupport
import Testing

@Suite("Health, readiness, metrics, request ids and problem documents")
struct OperationsTests {
    @Test("Health and readiness need no key")
    func healthAndReady() async throws {
        try await withTestApp { _, client in
            let health = try await client.send(.get, "/health")
            #expect(health.status == .ok)
            #expect(try health.object()["status"] as? String == "ok")
            #expect(try health.object()["version"] as? String == KaitoVersion.current)
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .ok)
            #expect(try ready.object()["status"] as? String == "ready")
        }
    }

    @Test("Readiness fails when the database is gone")
    func notReady() async throws {
        try await withTestApp { test, client in
            try await test.runtime.storage.close()
            let ready = try await client.send(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
            #expect(try ready.problem().code == "unavailable")
        }
    }

    @Test("Every response carries X-Request-Id: the client's when sane, else a new one")
    func requestID() async throws {
        try await withTestApp { test, client in
            let mine = try await client.send(.get, "/health", headers: [.xRequestIDForTests: "ci-run-42.step:7"])
            #expect(mine.headers[.xRequestIDForTests] == "ci-run-42.step:7")
            let hostile = try await client.send(.get, "/health", headers: [.xRequestIDForTests: "a b\u{7F}<script>"])
            let generated = try #require(hostile.headers[.xRequestIDForTests])
            #expect(generated.hasPrefix("req_") && generated.count == 24)
            let error = try await client.send(.get, "/v1/tokens")
            let id = try #require(error.headers[.xRequestIDForTests])
            #expect(try error.problem().requestID == id)
            let other = try await client.send(.get, "/v1/tokens")
            #expect(other.headers[.xRequestIDForTests] != id)
            _ = test
        }
    }

    @Test("Problem documents follow RFC 9457 and docs/api.md#problem-documents")
    func problemShape() async throws {
        try await withTestApp { test, client in
            let response = try await client.send(.get, "/v1/tokens/s/seed", key: try await test.key([.tokensRead]))
            #expect(response.status == .forbidden)
            #expect(response.headers[.contentType] == "application/problem+json")
            let object = try response.object()
            #expect(object["type"] as? String == "/problems/insufficient_scope")
            // The type resolves on the server that answered, to the code's title, status and meaning.
            let type = try await client.send(.get, "/problems/insufficient_scope")
            let described = try type.object()
            #expect(type.status == .ok && described["status"] as? Int == 403 && described["title"] as? String == object["title"] as? String)
            #expect(described["reference"] as? String == "docs/api.md#insufficient_scope")
            #expect(try await client.send(.get, "/problems/no_such_code").status == .notFound)
            for code in KaitoError.Code.all {
                #expect(try await client.send(.get, "/problems/\(code.rawValue)").status == .ok, "\(code)")
            }
            #expect(object["title"] as? String == "Insufficient scope")
            #expect(object["status"] as? Int == 403)
            #expect(object["code"] as? String == "insufficient_scope")
            #expect(object["required_scope"] as? String == "tokens:seed")
            #expect((object["detail"] as? String)?.isEmpty == false)
            #expect((object["request_id"] as? String)?.hasPrefix("req_") == true)
        }
    }

    @Test("The OpenAPI document lists every route with its scope and rate-limit group")
    func openAPI() async throws {
        try await withTestApp { test, client in
            let response = try await client.send(.get, "/v1/openapi.json")
            #expect(response.status == .ok)
            let document = try response.object()
            #expect(document["openapi"] as? String == "3.1.0")
            let paths = try #require(document["paths"] as? [String: [String: [String: Any]]])
            let routes = KaitoRoutes(runtime: test.runtime).routes
            for route in routes {
                let operation = try #require(paths[route.path]?[route.method.lowercased()], "\(route.method) \(route.path)")
                if case .scope(let scope) = route.access {
                    #expect(operation["x-kaito-scope"] as? String == scope.rawValue)
                    #expect((operation["security"] as? [[String: [String]]])?.first?["bearer"] == [scope.rawValue])
                }
                #expect(operation["x-kaito-rate-limit-group"] as? String == route.rateLimitGroup?.rawValue)
            }
            let code = try #require(paths["/v1/tokens/{slug}/code"]?["get"])
            #expect(code["x-kaito-rate-limit-group"] as? String == "code")
            #expect(paths.values.reduce(0) { $0 + $1.count } == routes.count)

            // Every route is registered with its description: its operation answers its documented success status, and
            // takes exactly the query parameters the description names.
            for route in routes {
                let operation = try #require(paths[route.path]?[route.method.lowercased()])
                let responses = try #require(operation["responses"] as? [String: Any], "\(route.operationKey)")
                #expect(responses[String(route.doc.status)] != nil, "\(route.operationKey)")
                let query = (operation["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "query" }.compactMap { $0["name"] as? String }
                #expect(Set(query) == Set(route.doc.query.map(\.name)), "\(route.operationKey)")
            }
            // Problems per status name their codes: the code fetch can be refused for its token binding and limited.
            let codeResponses = try #require(code["responses"] as? [String: [String: Any]])
            #expect(Set(codeResponses.keys) == ["200", "400", "401", "403", "404", "422", "429", "503"])
            // Problem responses are components, shared by the operations that give the same codes at one status.
            let reference = try #require(codeResponses["403"]?["$ref"] as? String)
            let components = try #require(document["components"] as? [String: Any])
            let shared = try #require((components["responses"] as? [String: [String: Any]])?[String(reference.split(separator: "/").last ?? "")])
            let forbidden = try #require(
                ((shared["content"] as? [String: Any])?["application/problem+json"] as? [String: Any])?["schema"] as? [String: Any])
            let codeEnum = ((forbidden["allOf"] as? [[String: Any]])?.last?["properties"] as? [String: [String: Any]])?["code"]?["enum"] as? [String]
            #expect(codeEnum == ["insufficient_scope", "ip_not_allowed", "token_not_allowed"])
            let success = try #require((codeResponses["200"]?["content"] as? [String: [String: Any]])?["application/json"]?["schema"] as? [String: String])
            #expect(success["$ref"] == "#/components/schemas/Code")
        }
    }

    @Test("openapi.json at the repository root is the document the server serves, indented (KAITO_UPDATE_OPENAPI=1 rewrites it)")
    func committedOpenAPI() async throws {
        try await withTestApp { test, client in
            let served = try await client.send(.get, "/v1/openapi.json").text
            let path = TestEnvironment.packageRoot.appendingPathComponent("openapi.json")
            if ProcessInfo.processInfo.environment["KAITO_UPDATE_OPENAPI"] == "1" {
                let pretty = try OpenAPIDocument.json(routes: KaitoRoutes(runtime: test.runtime).routes, pretty: true)
                try Data(pretty + Array("\n".utf8)).write(to: path)
            }
            // The same document: the committed one re-read and written compact, as the server serves it.
            let committed = try JSONSerialization.jsonObject(with: Data(contentsOf: path))
            let compact = String(decoding: try JSONSerialization.data(withJSONObject: committed, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
            let same = compact == served  // (not printed: the documents are long)
            #expect(same, "a route changed without openapi.json: run KAITO_UPDATE_OPENAPI=1 swift test --filter committedOpenAPI")
        }
    }

    @Test("The served document is built once: compact (80 to 150 KB), an ETag that a conditional GET answers with 304, gzip when accepted")
    func servedOpenAPI() async throws {
        try await withTestApp { _, client in
            let plain = try await client.send(.get, "/v1/openapi.json")
            #expect(plain.status == .ok && plain.headers[.contentEncoding] == nil && (80_000...150_000).contains(plain.body.readableBytes), "\(plain.body.readableBytes) bytes")
            let etag = try #require(plain.headers[.eTag])
            #expect(etag.hasPrefix("\"") && plain.headers[.vary] == "Accept-Encoding")
            let again = try await client.send(.get, "/v1/openapi.json")
            #expect(again.headers[.eTag] == etag && again.body == plain.body, "the same bytes each time")
            let unchanged = try await client.send(.get, "/v1/openapi.json", headers: [.ifNoneMatch: etag])
            #expect(unchanged.status == .notModified && unchanged.body.readableBytes == 0 && unchanged.headers[.eTag] == etag)
            #expect(try await client.send(.get, "/v1/openapi.json", headers: [.ifNoneMatch: "\"other\""]).status == .ok)
            for (accept, gzip) in [("gzip", true), ("br, gzip;q=0.5", true), ("*", true), ("gzip;q=0", false), ("gzip;q=0, *", false), ("identity", false), ("br", false)] {
                let answer = try await client.send(.get, "/v1/openapi.json", headers: [.acceptEncoding: accept])
                #expect((answer.headers[.contentEncoding] == "gzip") == gzip, "\(accept)")
                #expect((answer.headers[.eTag] == String(etag.dropLast()) + "-gz\"") == gzip, "each coding its own tag")
                if gzip {
                    #expect(answer.body.readableBytes < plain.body.readableBytes / 4, "\(answer.body.readableBytes)")
                    // Unzipped by an independent implementation: Python's gzip module gives the plain bytes back.
                    let directory = try TemporaryDirectory()
                    defer { directory.remove() }
                    try Data(answer.body.readableBytesView).write(to: URL(fileURLWithPath: directory.path + "/doc.gz"))
                    let unzipped = try await TestEnvironment.runPython("import gzip, hashlib, sys; print(hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())", [directory.path + "/doc.gz"])
                    let expected = SHA256.hash(data: Data(plain.body.readableBytesView)).map { String(format: "%02x", $0) }.joined()
                    #expect(unzipped.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
                }
            }
        }
    }

    @Test("The document validates against the OpenAPI 3.1 schema (openapi-spec-validator)")
    func openAPIValidates() async throws {
        try await withTestApp { _, client in
            let served = try await client.send(.get, "/v1/openapi.json").text
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            try Data(served.utf8).write(to: URL(fileURLWithPath: directory.path + "/openapi.json"))
            let verdict = try await TestEnvironment.runPython("""
                import json, sys
                from openapi_spec_validator import validate
                document = json.load(open(sys.argv[1]))
                validate(document)
                print(document["openapi"], len(document["paths"]))
                """, [directory.path + "/openapi.json"])
            #expect(verdict.hasPrefix("3.1.0 "), "\(verdict)")
        }
    }

    @Test("Unknown routes are problem 404s")
    func unknownRoute() async throws {
        try await withTestApp { test, client in
            let response = try await client.send(.get, "/v1/nothing-here", key: test.adminKey)
            #expect(response.status == .notFound)
            #expect(try response.problem().code == "not_found")
        }
    }

    @Test("A known path with another method is a 405 that lists the allowed methods in Allow")
    func methodNotAllowed() async throws {
        try await withTestApp { test, client in
            for (method, path, allowed) in [
                (HTTPRequest.Method.put, "/v1/tokens/aws-prod", "GET, PATCH, DELETE"),
                (.delete, "/v1/keys/self", "GET"),
                (.post, "/health", "GET"),
                (.init("TRACE")!, "/v1/audit", "GET"),
            ] {
                let response = try await client.send(method, path, key: test.adminKey)
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allowed, "\(method) \(path)")
                #expect(try response.problem().code == "method_not_allowed")
            }
            // Nothing changed: the 405 is answered before any handler runs.
            #expect(try await client.send(.get, "/v1/keys/self", key: test.adminKey).status == .ok)
        }
    }

    @Test("Metrics count requests by route, status and scope outcome, and never show a key")
    func metrics() async throws {
        try await withTestApp { test, client in
            let reader = try await test.key([.tokensRead])
            _ = try await client.send(.get, "/v1/tokens", key: reader)
            _ = try await client.send(.get, "/v1/tokens/x/code", key: reader)
            _ = try await client.send(.get, "/v1/tokens")
            let metrics = try await client.send(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = metrics.text
            #expect(text.contains(#"kaito_http_requests_total{route="/v1/tokens",method="GET",status="200",scope_outcome="granted"} 1"#))
            #expect(text.contains(#"kaito_http_requests_total{route="/v1/tokens/{slug}/code",method="GET",status="403",scope_outcome="denied"} 1"#))
            #expect(text.contains(#"kaito_http_requests_total{route="/v1/tokens",method="GET",status="401",scope_outcome="unauthenticated"} 1"#))
            #expect(text.contains("kaito_http_request_duration_seconds_bucket"))
            #expect(text.contains(#"kaito_http_request_duration_seconds_count{route="/v1/tokens",method="GET"} 2"#))
            // A route nobody called has no series.
            #expect(!text.contains(#"route="/v1/webhooks""#))
            #expect(!text.contains(reader) && !text.contains(test.adminKey))
        }
    }
}

import HTTPTypes

extension HTTPField.Name {
    static let xRequestIDForTests = HTTPField.Name("X-Request-Id")!
}
