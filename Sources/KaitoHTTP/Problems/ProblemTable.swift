import HTTPTypes
import KaitoCore

/// The one table from error codes to HTTP statuses and titles (docs/api.md#errors).
enum ProblemTable {
    static func status(for code: KaitoError.Code) -> HTTPResponse.Status {
        switch code {
        case .malformedRequest: return .badRequest
        case .missingKey, .invalidKey, .keyExpired, .signInFailed: return .unauthorized
        case .insufficientScope, .ipNotAllowed, .tokenNotAllowed, .planRequired, .invalidSignature: return .forbidden
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .conflict, .idempotencyKeyInUse: return .conflict
        case .payloadTooLarge: return .contentTooLarge
        case .validationFailed, .idempotencyKeyReused: return .unprocessableContent
        case .rateLimited: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        default: return .internalServerError
        }
    }

    /// What a code means, in one sentence: what `GET /problems/{code}` (a problem's `type`) answers beside the title.
    static func meaning(of code: KaitoError.Code) -> String {
        switch code {
        case .malformedRequest: return "The request cannot be read: not JSON, wrong types, a key given twice, an unknown query parameter, a bad cursor or header. Fix it; sent unchanged it fails again."
        case .missingKey: return "No Authorization: Bearer key was sent."
        case .invalidKey: return "The key is malformed, unknown, revoked or spent."
        case .keyExpired: return "The key's expires_at has passed."
        case .signInFailed: return "A dashboard sign-in or second-factor check failed, or the account is locked."
        case .insufficientScope: return "The key lacks the scope (or its user the role) the operation needs; required_scope names it."
        case .ipNotAllowed: return "The client's address is outside the key's allowed_cidrs."
        case .tokenNotAllowed: return "The key is bound to other tokens."
        case .planRequired: return "The organisation's plan does not include the feature; required_plan names the plan that does."
        case .invalidSignature: return "A provider callback's signature is missing or wrong."
        case .notFound: return "No such resource in the caller's organisation, or no such path."
        case .methodNotAllowed: return "The path exists, the method does not; Allow lists those that do."
        case .conflict: return "The request collides with the current state (a slug, number, email or name taken; the last owner)."
        case .idempotencyKeyInUse: return "The first request with this Idempotency-Key is still running; retry after Retry-After to get its answer."
        case .payloadTooLarge: return "The body is over 64 KiB."
        case .validationFailed: return "Well-formed, but a field is invalid or unknown; errors names each field."
        case .idempotencyKeyReused: return "This Idempotency-Key was first sent with another request (method, path or body); nothing ran."
        case .rateLimited: return "The key's limit for the operation's group is used up; retry after Retry-After."
        case .unavailable: return "The server cannot honour the request safely now (the database, a deadline); retry after Retry-After."
        default: return "The server failed in a way it did not expect; the request_id finds it in the server's log."
        }
    }

    static func title(for code: KaitoError.Code) -> String {
        switch code {
        case .malformedRequest: return "Malformed request"
        case .missingKey: return "Missing API key"
        case .invalidKey: return "Invalid API key"
        case .keyExpired: return "API key expired"
        case .signInFailed: return "Sign-in failed"
        case .insufficientScope: return "Insufficient scope"
        case .ipNotAllowed: return "IP address not allowed"
        case .tokenNotAllowed: return "Token not allowed for this key"
        case .planRequired: return "Plan upgrade required"
        case .invalidSignature: return "Invalid provider signature"
        case .notFound: return "Not found"
        case .methodNotAllowed: return "Method not allowed"
        case .conflict: return "Conflict"
        case .idempotencyKeyReused: return "Idempotency key reused"
        case .idempotencyKeyInUse: return "Idempotency key in use"
        case .payloadTooLarge: return "Payload too large"
        case .validationFailed: return "Validation failed"
        case .rateLimited: return "Rate limited"
        case .unavailable: return "Service unavailable"
        default: return "Internal server error"
        }
    }
}
