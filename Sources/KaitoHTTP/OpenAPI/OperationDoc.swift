import KaitoCore

/// What a route's registration says of its operation beyond its method, path, access and summary: its bodies, query
/// parameters (the only ones the route takes) and the problems its handler can give beyond those of the pipeline
/// (docs/api.md#errors). Every route is registered with one (`APIRouter.add`), so none can be undocumented.
/// Unchecked `Sendable`: its schemas are JSON values (strings, numbers, arrays, dictionaries) written once, at
/// registration, and only read after.
struct OperationDoc: @unchecked Sendable {
    /// The success status and the component schema of its JSON body (nil: no body, or `content` below).
    var status: Int
    var response: String?
    /// A non-JSON success body: its media type.
    var content: String?
    var request: String?
    var requestContent = "application/json"
    var query: [QueryDoc] = []
    /// Problem codes the handler itself can give.
    var problems: [KaitoError.Code] = []
    /// Other success statuses without a body (the long-poll's 204).
    var alsoEmpty: [Int: String] = [:]

    struct QueryDoc {
        var name: String
        var schema: JSONSchema.Object
        var description: String
        var required = false
    }

    /// `limit` and `cursor`, for every list.
    static var page: [QueryDoc] { [
        QueryDoc(name: "limit", schema: JSONSchema.integer(minimum: PageLimits.range.lowerBound, maximum: PageLimits.range.upperBound), description: "Page size, default \(PageLimits.defaultLimit)"),
        QueryDoc(name: "cursor", schema: JSONSchema.string(), description: "The next_cursor of the previous page"),
    ] }
    /// The audit log's filters.
    static var auditFilters: [QueryDoc] { [
        QueryDoc(name: "action", schema: JSONSchema.string(pattern: "^[a-z_.]+(\\.\\*)?$"), description: "An action, or a prefix such as token.*"),
        QueryDoc(name: "actor", schema: JSONSchema.string(), description: "An actor id (key_..., usr_..., system:...)"),
        QueryDoc(name: "target", schema: JSONSchema.string(), description: "A target id"),
        QueryDoc(name: "outcome", schema: JSONSchema.string(values: ["success", "denied"]), description: "success or denied"),
        QueryDoc(name: "flagged", schema: JSONSchema.boolean(), description: "Only flagged (seed) events, or only unflagged ones"),
        QueryDoc(name: "since", schema: JSONSchema.timestamp(), description: "Events at or after this time"),
        QueryDoc(name: "until", schema: JSONSchema.timestamp(), description: "Events before this time"),
    ] }
}
