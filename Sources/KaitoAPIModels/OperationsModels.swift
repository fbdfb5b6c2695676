/// `GET /health`: the process is alive, and its version.
public struct HealthResponse: Codable, Sendable, Equatable {
    public var status: String
    public var version: String?

    public init(status: String, version: String?) {
        self.status = status
        self.version = version
    }
}

/// `GET /problems/{code}`: what a problem document's `type` names.
public struct ProblemTypeResponse: Codable, Sendable, Equatable {
    public var code: String
    public var title: String
    public var status: Int
    public var meaning: String
    public var reference: String

    public init(code: String, title: String, status: Int, meaning: String, reference: String) {
        (self.code, self.title, self.status, self.meaning, self.reference) = (code, title, status, meaning, reference)
    }
}
