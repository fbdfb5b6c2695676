import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import KaitoAPIModels
import KaitoCore
import Logging

/// Turns every error into an RFC 9457 problem response. Domain errors map through `ProblemTable`; the
/// router's own errors (unknown route, oversized body) map to their codes; anything else is a 500 that leaks
/// nothing and is logged with the request id.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = KaitoRequestContext
    /// The methods registered for a path (`["GET", "PATCH"]`), so that a known path with another method is a 405
    /// with `Allow` rather than a 404.
    let allowedMethods: @Sendable (String) -> [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let methods = allowedMethods(request.uri.path)
            guard !methods.isEmpty else {
                return Self.response(for: KaitoError.notFound("The resource"), requestID: context.requestID)
            }
            let detail = "\(request.method.rawValue.prefix(20)) is not allowed here; allowed: \(methods.joined(separator: ", "))."
            return Self.response(
                for: KaitoError(.methodNotAllowed, detail), requestID: context.requestID,
                headers: [.allow: methods.joined(separator: ", ")])
        } catch {
            let kaitoError = Self.kaitoError(for: error, logger: context.logger)
            return Self.response(for: kaitoError, requestID: context.requestID)
        }
    }

    static func kaitoError(for error: any Error, logger: Logger?) -> KaitoError {
        switch error {
        case let error as KaitoError:
            return error
        case is NIOTooManyBytesError:
            return KaitoError(.payloadTooLarge, "The request body is larger than \(RequestBody.limit) bytes.")
        case let error as HTTPError where error.status == .notFound:
            return KaitoError.notFound("The resource")
        case let error as HTTPError where error.status == .methodNotAllowed:
            return KaitoError(.methodNotAllowed, "The method is not allowed on this resource.")
        case let error as HTTPError where error.status == .contentTooLarge:
            return KaitoError(.payloadTooLarge, "The request body is larger than \(RequestBody.limit) bytes.")
        case let error as HTTPError where error.status == .badRequest:
            return KaitoError(.malformedRequest, "The request is malformed.")
        case is Envelope.Error:
            logger?.error("stored ciphertext failed authentication")
            return KaitoError(.unavailable, "Stored data failed an integrity check.")
        default:
            logger?.error("unhandled error", metadata: ["error_type": "\(type(of: error))"])
            return KaitoError(.internalError, "The server failed to handle the request.")
        }
    }

    static func response(for error: KaitoError, requestID: String, headers extra: HTTPFields = [:]) -> Response {
        let status = ProblemTable.status(for: error.code)
        let problem = Problem(
            code: error.code.rawValue,
            title: ProblemTable.title(for: error.code),
            status: Int(status.code),
            detail: error.detail,
            requestID: requestID.isEmpty ? nil : requestID,
            requiredScope: error.requiredScope?.rawValue,
            requiredPlan: error.requiredPlan?.rawValue,
            errors: error.fieldErrors.isEmpty ? nil : error.fieldErrors.map { .init(field: $0.field, message: $0.message) }
        )
        var headers = extra
        headers[.contentType] = "application/problem+json"
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"kaito\"" }
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = (try? KaitoJSONEncoder.json.encode(problem)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
