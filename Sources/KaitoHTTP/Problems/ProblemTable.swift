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
