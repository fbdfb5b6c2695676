import Foundation
import Hummingbird
import KaitoCore

/// Reads JSON request bodies: at most 64 KiB, a JSON object, no unknown fields, `null` only where a route gives it a
/// meaning (clearing a field), and decoding errors that name the field.
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
        let data = Data(buffer.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: data, options: []) else {
            throw KaitoError(.malformedRequest, "The request body is not valid JSON.")
        }
        guard let fields = object as? [String: Any] else {
            throw KaitoError(.malformedRequest, "The request body must be a JSON object.")
        }
        // Wrong types (400) are reported before unknown fields (422): malformed comes before invalid.
        let value: Value
        do {
            value = try JSONDecoder().decode(Value.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error)
        }
        let unknown = fields.keys.filter { !allowedFields.contains($0) }.sorted()
        // An optional field given as null is refused rather than read as absent: null means "clear" where it is allowed.
        let nulls = fields.filter { allowedFields.contains($0.key) && !nullable.contains($0.key) && $0.value is NSNull }.keys.sorted()
        if !unknown.isEmpty || !nulls.isEmpty {
            throw KaitoError.validation(unknown.map {
                .init(field: String($0.prefix(64)), message: "is not a field of this request; allowed: \(allowedFields.joined(separator: ", "))")
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
