import HTTPTypes
import Hummingbird
import NIOCore
import KaitoCore
import Logging

/// Gives every request an id (the client's `X-Request-Id` when it is sane, else a new one), puts it in the
/// logger's metadata, and echoes it on every response, errors included.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = KaitoRequestContext
    let random: any RandomSource

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.xRequestID].flatMap(Self.sane) ?? "req_" + random.string(count: 20, ascii: Base62.ascii)
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        var response = try await next(request, context)
        response.headers[.xRequestID] = requestID
        return response
    }

    /// 1 to 128 characters of `[A-Za-z0-9._:-]`: nothing that could forge a log line or a header.
    static func sane(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count) else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || [45, 46, 58, 95].contains(byte)
        }
        return allowed ? value : nil
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}
