/// An RFC 9457 problem document, as every error response carries it (docs/api.md#problem-documents).
public struct Problem: Codable, Sendable, Equatable {
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var code: String
    public var requestID: String?
    public var requiredScope: String?
    public var requiredPlan: String?
    public var errors: [FieldError]?

    public init(
        code: String, title: String, status: Int, detail: String, requestID: String?,
        requiredScope: String? = nil, requiredPlan: String? = nil, errors: [FieldError]? = nil
    ) {
        // A URI reference that resolves on the server that answered (`GET /problems/{code}`), the same string on
        // every server of a deployment.
        self.type = "/problems/\(code)"
        self.title = title
        self.status = status
        self.detail = detail
        self.code = code
        self.requestID = requestID
        self.requiredScope = requiredScope
        self.requiredPlan = requiredPlan
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, errors
        case requestID = "request_id"
        case requiredScope = "required_scope"
        case requiredPlan = "required_plan"
    }
}

/// A page of a list: `{"data": [...], "next_cursor": "..." | null}`.
public struct ListResponse<Item: Codable & Sendable>: Codable, Sendable {
    public var data: [Item]
    public var nextCursor: String?

    public init(data: [Item], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case data
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)  // null, not absent
    }
}
