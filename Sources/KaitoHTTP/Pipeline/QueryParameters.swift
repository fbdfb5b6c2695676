import Foundation
import Hummingbird
import KaitoCore

/// A request's query parameters, checked against the names a route accepts.
struct QueryParameters {
    private let values: [String: String]

    /// No parameters (before the router has read the request's).
    init() {
        values = [:]
    }

    /// - Throws: `malformed_request` for a parameter the route does not know or one given twice.
    init(_ request: Request, allowed: Set<String>) throws {
        var values: [String: String] = [:]
        for (name, value) in request.uri.queryParameters {
            let name = String(name)
            guard allowed.contains(name) else {
                let known = allowed.isEmpty ? "none" : allowed.sorted().joined(separator: ", ")
                throw KaitoError(.malformedRequest, "Unknown query parameter '\(name.prefix(40))'; this route accepts: \(known).")
            }
            guard values[name] == nil else {
                throw KaitoError(.malformedRequest, "The query parameter '\(name)' is given more than once.")
            }
            values[name] = String(value)
        }
        self.values = values
    }

    subscript(name: String) -> String? { values[name] }

    /// An integer parameter: 400 when it is not an integer, 422 when outside `range`.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text) else {
            throw KaitoError(.malformedRequest, "The query parameter '\(name)' must be an integer.")
        }
        guard range.contains(value) else {
            throw KaitoError.validation(name, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// `limit` (1...200, default 50) and the decoded `cursor` of a list route.
    func pagination() throws -> (limit: Int, after: String?) {
        let limit = try integer("limit", in: PageLimits.range) ?? PageLimits.defaultLimit
        guard let cursor = values["cursor"] else { return (limit, nil) }
        guard let after = Cursor.decode(cursor) else {
            throw KaitoError(.malformedRequest, "The cursor is not one this server issued.")
        }
        return (limit, after)
    }
}

/// Opaque list cursors: the base64url of the last item's sort key, with a version tag.
enum Cursor {
    static func encode(_ key: String) -> String {
        Base64URL.encode(Array(("v1:" + key).utf8))
    }

    static func decode(_ cursor: String) -> String? {
        guard cursor.utf8.count <= 400 else { return nil }
        guard let data = Base64URL.decode(cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1:") else {
            return nil
        }
        return String(text.dropFirst(3))
    }
}
