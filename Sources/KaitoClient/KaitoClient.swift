import AsyncHTTPClient
import Foundation
import KaitoAPIModels
import NIOCore
import NIOHTTP1

/// A typed client of the Kaito API, for the `kaito` command and for scripts written in Swift.
public struct KaitoClient: Sendable {
    public let baseURL: String
    var key: String?
    let http: HTTPClient
    let timeout: TimeAmount
    /// How many seconds in all the client may wait on `429 Retry-After` answers before giving up (0: never retry).
    let retryBudget: Int
    /// Sent as `Idempotency-Key` with every `POST`: the server runs the request once, however often it is retried
    /// (a lost answer, a server error, a busy key), and answers every retry with the first answer.
    public var idempotencyKey: String?

    public init(baseURL: String, key: String?, http: HTTPClient, timeout: TimeAmount = .seconds(90), retryBudget: Int = 0) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.key = key
        self.http = http
        self.timeout = timeout
        self.retryBudget = retryBudget
    }

    /// An HTTP client for the command line: a refused or unreachable server fails at once (no retries of the
    /// connection until the request deadline), after at most 10 seconds of connecting.
    public static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(10)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Runs `body` with a client that is shut down afterwards.
    public static func with<T>(baseURL: String, key: String?, retryBudget: Int = 0, _ body: (KaitoClient) async throws -> T) async throws -> T {
        let http = makeHTTPClient()
        do {
            let result = try await body(KaitoClient(baseURL: baseURL, key: key, http: http, retryBudget: retryBudget))
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// This client with another API key (the same connections).
    public func using(key: String) -> KaitoClient {
        var copy = self
        copy.key = key
        return copy
    }

    /// This client, sending `key` as the `Idempotency-Key` of its `POST`s (nil: none). A client made so is for one
    /// logical request and its retries: every `POST` it sends carries the same key, so a second, different request
    /// through it is refused (422) and the same one is answered with the first's answer. Make one per request.
    public func idempotent(_ key: String?) -> KaitoClient {
        var copy = self
        copy.idempotencyKey = key
        return copy
    }

    /// `POST /v1/sms/messages`: queued (the answer's status is `queued`); plan Business or Enterprise.
    public func sendSMS(_ body: SendSMSRequest) async throws -> OutboundSMSResponse {
        try await send(.POST, "/v1/sms/messages", body: body, as: OutboundSMSResponse.self)
    }

    /// One request of any method and path (with its query) and an optional JSON body, answered as it came: status,
    /// headers and body (`kaito api`). Sent once (a `POST` with this client's idempotency key, if it has one).
    public func raw(method: String, path: String, body: [UInt8]?) async throws -> (status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: "kaito-cli/1")
        request.headers.add(name: "Accept", value: "application/json")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        if method == "POST", let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
            return (Int(response.status.code), response.headers.map { ($0.name, $0.value) }, Array(bytes.readableBytesView))
        } catch {
            throw KaitoClientError.transport("cannot reach \(baseURL): \(error)")
        }
    }

    /// `GET /v1/tokens/{slug}/code`.
    public func code(slug: String, minValid: Int? = nil) async throws -> CodeResponse {
        var path = "/v1/tokens/\(Self.escape(slug))/code"
        if let minValid { path += "?min_valid=\(minValid)" }
        return try await send(.GET, path, as: CodeResponse.self)
    }

    /// `GET /v1/sms/messages/wait`: the first message of the inbox after `after`, or nil when `timeout` seconds
    /// (1...60) pass first.
    public func waitForMessage(inbox: String, after: String?, timeout: Int) async throws -> SMSMessageResponse? {
        var path = "/v1/sms/messages/wait?inbox=\(Self.escape(inbox))&timeout=\(timeout)"
        if let after { path += "&after=\(Self.escape(after))" }
        return try await sendAllowingNoContent(.GET, path, as: SMSMessageResponse.self)
    }

    /// `GET /v1/tokens`, one page.
    public func tokens(limit: Int, cursor: String?) async throws -> ListResponse<TokenResponse> {
        try await send(.GET, "/v1/tokens?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""), as: ListResponse<TokenResponse>.self)
    }

    /// `GET /v1/keys`, one page.
    public func keys(limit: Int, cursor: String?) async throws -> ListResponse<KeyResponse> {
        try await send(.GET, "/v1/keys?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""), as: ListResponse<KeyResponse>.self)
    }

    /// `GET /v1/inboxes`, one page.
    public func inboxes(limit: Int, cursor: String?) async throws -> ListResponse<InboxResponse> {
        try await send(.GET, "/v1/inboxes?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""), as: ListResponse<InboxResponse>.self)
    }

    /// `GET /v1/webhooks`, one page.
    public func webhooks(limit: Int, cursor: String?) async throws -> ListResponse<WebhookResponse> {
        try await send(.GET, "/v1/webhooks?limit=\(limit)" + (cursor.map { "&cursor=\(Self.escape($0))" } ?? ""), as: ListResponse<WebhookResponse>.self)
    }

    /// `GET /v1/sms/messages?inbox=...&limit=...`, newest first.
    public func messages(inbox: String?, limit: Int) async throws -> ListResponse<SMSMessageResponse> {
        var path = "/v1/sms/messages?limit=\(limit)"
        if let inbox { path += "&inbox=\(Self.escape(inbox))" }
        return try await send(.GET, path, as: ListResponse<SMSMessageResponse>.self)
    }

    /// `POST /v1/inboxes/{id}/simulate`.
    public func simulate(inbox: String, from: String, body: String) async throws -> SMSMessageResponse {
        try await send(.POST, "/v1/inboxes/\(Self.escape(inbox))/simulate", body: SimulateRequest(from: from, body: body), as: SMSMessageResponse.self)
    }

    /// `POST /v1/tokens`.
    public func createToken(_ body: CreateTokenRequest) async throws -> TokenResponse {
        try await send(.POST, "/v1/tokens", body: body, as: TokenResponse.self)
    }

    /// `DELETE /v1/tokens/{slug}`.
    public func deleteToken(slug: String) async throws {
        _ = try await sendAllowingNoContent(.DELETE, "/v1/tokens/\(Self.escape(slug))", as: NoContent.self)
    }

    /// `POST /v1/keys`: the response carries the key, this once.
    public func createKey(_ body: CreateKeyRequest) async throws -> KeyResponse {
        try await send(.POST, "/v1/keys", body: body, as: KeyResponse.self)
    }

    /// `DELETE /v1/keys/{id}`: revoked at once.
    public func revokeKey(id: String) async throws {
        _ = try await sendAllowingNoContent(.DELETE, "/v1/keys/\(Self.escape(id))", as: NoContent.self)
    }

    /// `POST /v1/inboxes`.
    public func createInbox(_ body: InboxRequest) async throws -> InboxResponse {
        try await send(.POST, "/v1/inboxes", body: body, as: InboxResponse.self)
    }

    /// `DELETE /v1/inboxes/{id}`.
    public func deleteInbox(id: String) async throws {
        _ = try await sendAllowingNoContent(.DELETE, "/v1/inboxes/\(Self.escape(id))", as: NoContent.self)
    }

    /// `POST /v1/webhooks`: the response carries the signing secret, this once.
    public func createWebhook(_ body: WebhookRequest) async throws -> WebhookResponse {
        try await send(.POST, "/v1/webhooks", body: body, as: WebhookResponse.self)
    }

    /// `DELETE /v1/webhooks/{id}`.
    public func deleteWebhook(id: String) async throws {
        _ = try await sendAllowingNoContent(.DELETE, "/v1/webhooks/\(Self.escape(id))", as: NoContent.self)
    }

    /// `GET /v1/audit` with filters (`action`, `actor`, `target`, `outcome`, `flagged`, `since`, `until`), one page.
    public func auditEvents(filters: [(String, String)], limit: Int, cursor: String?) async throws -> ListResponse<AuditEventResponse> {
        var items = filters.map { URLQueryItem(name: $0.0, value: $0.1) } + [URLQueryItem(name: "limit", value: String(limit))]
        if let cursor { items.append(URLQueryItem(name: "cursor", value: cursor)) }
        var components = URLComponents()
        components.queryItems = items
        // `+` is literal in URLComponents' query; the server reads it as a space, so escape it (time offsets).
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return try await send(.GET, "/v1/audit?" + query, as: ListResponse<AuditEventResponse>.self)
    }

    func send<Output: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<String>.none, as: Output.Type) async throws -> Output {
        guard let output = try await sendAllowingNoContent(method, path, body: body, as: Output.self) else {
            throw KaitoClientError.unexpected("unexpected empty response from \(baseURL)")
        }
        return output
    }

    /// Like `send`, with nil for a 204 answer. A 429 is retried after its `Retry-After` while the retry budget lasts;
    /// so is a `POST` with an idempotency key that failed in a way a retry may mend (no answer, a server error, the
    /// key still busy with the first try), since the server runs it once whatever happens.
    func sendAllowingNoContent<Output: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)? = Optional<String>.none, as: Output.Type) async throws -> Output? {
        var budget = retryBudget
        var pause = 1
        while true {
            do {
                return try await sendOnce(method, path, body: body, as: Output.self)
            } catch KaitoClientError.problem(429, _, let retryAfter?) where retryAfter <= budget {
                budget -= retryAfter
                try await Task.sleep(for: .seconds(max(retryAfter, 0)))
            } catch let error as KaitoClientError where method == .POST && idempotencyKey != nil && error.isWorthRetrying {
                let wait = error.retryAfter ?? pause
                guard wait <= budget else { throw error }
                budget -= wait
                pause = min(pause * 2, 30)
                try await Task.sleep(for: .seconds(wait))
            }
        }
    }

    func sendOnce<Output: Decodable>(_ method: HTTPMethod, _ path: String, body: (some Encodable)?, as: Output.Type) async throws -> Output? {
        // Keys sorted: the same request is the same bytes in every process (an idempotent retry's body must match).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let answer = try await raw(method: method.rawValue, path: path, body: try body.map { Array(try encoder.encode($0)) })
        let data = Data(answer.body)
        guard (200..<300).contains(answer.status) else {
            let problem = try? JSONDecoder().decode(Problem.self, from: data)
            let retryAfter = answer.headers.first { $0.name.lowercased() == "retry-after" }.flatMap { Self.retryAfterSeconds($0.value) }
            throw KaitoClientError.problem(status: answer.status, problem: problem, retryAfter: retryAfter)
        }
        if answer.status == 204 { return nil }
        do {
            return try JSONDecoder().decode(Output.self, from: data)
        } catch {
            throw KaitoClientError.unexpected("unexpected response from \(baseURL): \(error)")
        }
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }
}

/// The body of a 204 answer: none.
struct NoContent: Decodable {}

/// What can go wrong talking to the server.
public enum KaitoClientError: Error, CustomStringConvertible {
    /// The server answered with an error status and (usually) a problem document.
    case problem(status: Int, problem: Problem?, retryAfter: Int?)
    /// The server could not be reached, or the answer was cut off.
    case transport(String)
    /// The server answered something that is not what the API answers (a proxy's page, another version).
    case unexpected(String)

    public var description: String {
        switch self {
        case .problem(let status, let problem, _):
            guard let problem else { return "the server answered \(status)" }
            return "\(problem.code): \(problem.detail) (HTTP \(status), request \(problem.requestID ?? "-"))"
        case .transport(let message), .unexpected(let message):
            return message
        }
    }

    /// Whether a retry with the same idempotency key may get an answer where this try got none: the server was not
    /// reached or failed (5xx), or the key is still busy with an earlier try (409 `idempotency_key_in_use`).
    var isWorthRetrying: Bool {
        switch self {
        case .transport: return true
        case .unexpected: return false
        case .problem(let status, let problem, _): return status >= 500 || (status == 409 && problem?.code == "idempotency_key_in_use")
        }
    }

    /// The `Retry-After` of the answer, in whole seconds, if it had one.
    public var retryAfter: Int? {
        guard case .problem(_, _, let seconds) = self else { return nil }
        return seconds
    }

    /// The HTTP status of the answer (nil: no answer).
    public var status: Int? {
        guard case .problem(let status, _, _) = self else { return nil }
        return status
    }

    /// The problem's `code` (`not_found`, `insufficient_scope`, ...): what to branch on.
    public var code: String? {
        guard case .problem(_, let problem, _) = self else { return nil }
        return problem?.code
    }

    /// With `insufficient_scope`: the scope the operation needs.
    public var requiredScope: String? {
        guard case .problem(_, let problem, _) = self else { return nil }
        return problem?.requiredScope
    }

    /// The exit code of the `kaito` command for this error: 3 authentication or permission, 4 not found,
    /// 5 rate limited, 1 anything else.
    public var exitCode: Int32 {
        guard case .problem(let status, _, _) = self else { return 1 }
        switch status {
        case 401, 403: return 3
        case 404: return 4
        case 429: return 5
        default: return 1
        }
    }
}

extension KaitoClient {
    /// A `Retry-After` as this client waits on it: whole seconds (digits only, at most a day), at least 1 so that a
    /// retry never runs hot; nil for anything else (a date, a sign, a fraction, garbage), which is then not retried.
    public static func retryAfterSeconds(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 9, trimmed.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(trimmed),
              value <= 86_400 else { return nil }
        return max(1, value)
    }
}
