import Foundation
import Hummingbird
import KaitoAPIModels

/// How the server writes JSON: the request context's `responseEncoder`, through which every JSON answer of the API
/// and the dashboard goes. Keys sorted and slashes left unescaped, so that the same value is always the same bytes;
/// `Content-Type: application/json`. A code, the answer sent most, is written directly, to the bytes the encoder
/// would write.
public struct KaitoJSONEncoder: ResponseEncoder, Sendable {
    public init() {}

    /// The Foundation encoder behind it, also for what is not a whole answer: problem documents (their own media
    /// type) and the lines of a streamed audit export. (The OpenAPI document is served as the bytes built once at
    /// start, with its ETag and gzip form: `ServedDocument`.)
    static var json: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as a JSON answer (Hummingbird's `ResponseEncoder`, for a handler that returns a `ResponseEncodable`).
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try encode(value)
    }

    /// `value` as a JSON answer with `status`.
    public func encode(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let body: ByteBuffer
        if let code = value as? CodeResponse, let direct = Self.direct(code) {
            body = direct
        } else {
            body = ByteBuffer(bytes: try Self.json.encode(value))
        }
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// A code of digits, written without the encoder: its keys in the encoder's order, nothing in it to escape.
    static func direct(_ code: CodeResponse) -> ByteBuffer? {
        guard !code.code.isEmpty, code.code.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return ByteBuffer(string: #"{"code":""# + code.code + #"","expires_in":"# + String(code.expiresIn) + #","period":"# + String(code.period) + "}")
    }
}
