import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KaitoAPIModels
import KaitoCore
import KaitoHTTP
import Logging
import NIOCore

/// Runs `body` against the production application over a fresh `TestRuntime`, in process (`.router`) or on a
/// real socket (`.live`).
public func withTestApp(
    _ setup: TestingSetup = .router, clock: ManualClock = ManualClock(), trustedProxies: [CIDR] = [],
    _ body: @Sendable @escaping (TestRuntime, any TestClientProtocol) async throws -> Void
) async throws {
    try await withTestRuntime(clock: clock) { test in
        try await test.withApp(setup, trustedProxies: trustedProxies) { client in try await body(test, client) }
    }
}

extension TestRuntime {
    /// Runs `body` with a client of the production application over this runtime.
    public func withApp(
        _ setup: TestingSetup = .router, runtime: Runtime? = nil, trustedProxies: [CIDR] = [], publicURL: String? = nil,
        _ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void
    ) async throws {
        var logger = Logger(label: "kaito-test")
        logger.logLevel = .warning
        var configuration = self.configuration
        configuration.port = 0
        configuration.trustedProxies = trustedProxies
        configuration.publicURL = publicURL
        // The tests drive the webhook dispatcher themselves, step by step, with the pinned clock, and send no SMS.
        let app = buildApplication(
            runtime: runtime ?? self.runtime, configuration: configuration, logger: logger, dispatchWebhooks: false, sendSMS: false)
        try await app.test(setup) { client in try await body(client) }
    }

    /// A second server's runtime on the same database, master key and clock (PostgreSQL only).
    public func sibling() async throws -> Runtime {
        var logger = Logger(label: "kaito-test")
        logger.logLevel = .warning
        return try await Runtime.open(configuration, serving: true, dependencies: dependencies, logger: logger)
    }
}

extension TestClientProtocol {
    /// Sends a request with an optional bearer key and JSON body, and returns the response.
    public func send(
        _ method: HTTPRequest.Method, _ uri: String, key: String? = nil, json: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }) { $0 }
    }
}

extension TestResponse {
    /// The body as a JSON object.
    public func object() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            throw DecodingFailure(body: String(buffer: body))
        }
        return object
    }

    /// The body decoded as `type`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
    }

    /// The body as a problem document, checking its content type.
    public func problem() throws -> Problem {
        guard headers[.contentType] == "application/problem+json" else {
            throw DecodingFailure(body: "content type \(headers[.contentType] ?? "none"): \(String(buffer: body))")
        }
        return try decode(Problem.self)
    }

    public var text: String { String(buffer: body) }
}

public struct DecodingFailure: Error, CustomStringConvertible {
    public let body: String
    public var description: String { "unexpected body: \(body)" }
}
