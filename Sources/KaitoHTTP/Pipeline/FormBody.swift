import Hummingbird
import KaitoCore

/// An `application/x-www-form-urlencoded` body: its fields in order (a name may repeat). Read the same way for the
/// dashboard's forms and the SMS providers' callbacks.
struct FormBody {
    var fields: [(String, String)]

    func first(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }
    /// The field's value, nil when absent or left blank.
    func filled(_ name: String) -> String? { first(name).flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
    func all(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }

    /// Reads and decodes the body of `request`, at most `limit` bytes.
    /// - Throws: Hummingbird's `contentTooLarge` past `limit`; `FormEncoding`'s error for a malformed body.
    static func read(_ request: Request, limit: Int) async throws -> FormBody {
        var request = request
        let buffer = try await request.collectBody(upTo: limit)
        return FormBody(fields: try FormEncoding.decode(Array(buffer: buffer)))
    }
}
