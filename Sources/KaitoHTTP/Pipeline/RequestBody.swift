import Foundation
import Hummingbird
import KaitoCore

/// Reads JSON request bodies: at most 64 KiB, a JSON object with no key given twice at any depth (400), no unknown
/// fields at any depth (422; the route's `allowedFields` at the top, the nested types' own keys below), `null` only
/// where a route gives it a meaning (clearing a field), and decoding errors that name the field.
enum RequestBody {
    static let limit = 64 * 1024

    static func decode<Value: Decodable>(
        _ type: Value.Type, from request: Request, context: KaitoRequestContext, allowedFields: [String],
        nullable: Set<String> = []
    ) async throws -> Value {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw KaitoError(.payloadTooLarge, "The request body is larger than \(limit) bytes.")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        guard buffer.readableBytes > 0 else {
            throw KaitoError(.malformedRequest, "The request needs a JSON object body.")
        }
        let bytes = Array(buffer.readableBytesView)
        let body: StrictJSON
        do {
            body = try StrictJSON.parse(bytes)
        } catch .duplicateKey(let path) {
            let field = String(path.prefix(128))
            throw KaitoError(.malformedRequest, "The request body gives \(field) more than once.", fieldErrors: [.init(field: field, message: "is given more than once")])
        } catch {
            throw KaitoError(.malformedRequest, "The request body is not valid JSON.")
        }
        guard case .object(let fields) = body else {
            throw KaitoError(.malformedRequest, "The request body must be a JSON object.")
        }
        // Wrong types (400) are reported before unknown fields (422): malformed comes before invalid.
        let value: Value
        let nested: [(path: String, known: [String])]
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(bytes))
            nested = try KnownFieldsDecoder.unknownNestedFields(of: body, below: allowedFields, as: Value.self)
        } catch let error as DecodingError {
            throw Self.describe(error)
        }
        let unknown = fields.map(\.key).filter { !allowedFields.contains($0) }.sorted()
        // An optional field given as null is refused rather than read as absent: null means "clear" where it is allowed.
        let nulls = fields.filter { allowedFields.contains($0.key) && !nullable.contains($0.key) && $0.value == .null }.map(\.key).sorted()
        if !unknown.isEmpty || !nulls.isEmpty || !nested.isEmpty {
            throw KaitoError.validation(unknown.map {
                .init(field: String($0.prefix(64)), message: "is not a field of this request; allowed: \(allowedFields.joined(separator: ", "))")
            } + nested.map {
                .init(field: String($0.path.prefix(128)), message: "is not a field of this request; allowed: \($0.known.joined(separator: ", "))")
            } + nulls.map { .init(field: $0, message: "must not be null; leave it out instead") })
        }
        return value
    }

    static func describe(_ error: DecodingError) -> KaitoError {
        func path(_ context: DecodingError.Context) -> String {
            let field = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
            return field.isEmpty ? "body" : field
        }
        let (field, message): (String, String)
        switch error {
        case .typeMismatch(let type, let context):
            (field, message) = (path(context), "has the wrong type; expected \(Self.name(of: type))")
        case .valueNotFound(let type, let context):
            (field, message) = (path(context), "must not be null; expected \(Self.name(of: type))")
        case .keyNotFound(let key, let context):
            (field, message) = ((path(context) == "body" ? "" : path(context) + ".") + key.stringValue, "is required")
        case .dataCorrupted(let context):
            (field, message) = (path(context), "is not valid")
        @unknown default:
            (field, message) = ("body", "is not valid")
        }
        return KaitoError(.malformedRequest, "\(field) \(message).", fieldErrors: [.init(field: field, message: message)])
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is [String].Type, is [Any].Type: return "an array"
        default: return String(describing: type).lowercased().contains("array") ? "an array" : "a \(type)"
        }
    }
}
