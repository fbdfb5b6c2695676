/// A failure that the domain knows how to name: every error that reaches a client is one of these.
///
/// The HTTP layer maps each `Code` to a status and a problem document in exactly one table; the `detail`
/// is written for the client and never contains a secret.
public struct KaitoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable machine-readable error code, the `code` of a problem document.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let malformedRequest = Code(rawValue: "malformed_request")
        public static let missingKey = Code(rawValue: "missing_key")
        public static let invalidKey = Code(rawValue: "invalid_key")
        /// A dashboard sign-in with a wrong email, password or code, or a locked account (one message for all).
        public static let signInFailed = Code(rawValue: "sign_in_failed")
        public static let keyExpired = Code(rawValue: "key_expired")
        public static let insufficientScope = Code(rawValue: "insufficient_scope")
        public static let ipNotAllowed = Code(rawValue: "ip_not_allowed")
        public static let tokenNotAllowed = Code(rawValue: "token_not_allowed")
        public static let planRequired = Code(rawValue: "plan_required")
        /// A provider callback whose signature (`X-Twilio-Signature`) is missing or wrong.
        public static let invalidSignature = Code(rawValue: "invalid_signature")
        public static let notFound = Code(rawValue: "not_found")
        public static let methodNotAllowed = Code(rawValue: "method_not_allowed")
        public static let conflict = Code(rawValue: "conflict")
        /// An `Idempotency-Key` sent again with another request (method, path or body).
        public static let idempotencyKeyReused = Code(rawValue: "idempotency_key_reused")
        /// An `Idempotency-Key` whose first request has not answered yet.
        public static let idempotencyKeyInUse = Code(rawValue: "idempotency_key_in_use")
        public static let payloadTooLarge = Code(rawValue: "payload_too_large")
        public static let validationFailed = Code(rawValue: "validation_failed")
        public static let rateLimited = Code(rawValue: "rate_limited")
        public static let unavailable = Code(rawValue: "unavailable")
        public static let internalError = Code(rawValue: "internal_error")

        /// Every code, in the order of the errors table of docs/api.md.
        public static let all: [Code] = [
            .malformedRequest, .missingKey, .invalidKey, .keyExpired, .signInFailed, .insufficientScope, .ipNotAllowed, .tokenNotAllowed,
            .planRequired, .invalidSignature, .notFound, .methodNotAllowed, .conflict, .idempotencyKeyInUse, .payloadTooLarge,
            .validationFailed, .idempotencyKeyReused, .rateLimited, .internalError, .unavailable,
        ]
    }

    /// One invalid field of a request, as listed in a `validation_failed` problem.
    public struct FieldError: Sendable, Equatable, Codable {
        public var field: String
        public var message: String
        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var code: Code
    public var detail: String
    public var fieldErrors: [FieldError]
    /// The scope a `insufficient_scope` error asks for.
    public var requiredScope: Scope?
    /// The plan a `plan_required` error asks for.
    public var requiredPlan: Plan?
    /// Seconds until a `rate_limited` request would be admitted.
    public var retryAfter: Int?

    public init(
        _ code: Code, _ detail: String, fieldErrors: [FieldError] = [], requiredScope: Scope? = nil,
        requiredPlan: Plan? = nil, retryAfter: Int? = nil
    ) {
        self.code = code
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.requiredScope = requiredScope
        self.requiredPlan = requiredPlan
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(detail)" }

    public static func validation(_ field: String, _ message: String) -> KaitoError {
        KaitoError(.validationFailed, "\(field): \(message)", fieldErrors: [FieldError(field: field, message: message)])
    }

    public static func validation(_ errors: [FieldError]) -> KaitoError {
        let detail = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return KaitoError(.validationFailed, detail, fieldErrors: errors)
    }

    public static func notFound(_ what: String) -> KaitoError {
        KaitoError(.notFound, "\(what) was not found.")
    }

    public static func conflict(_ detail: String) -> KaitoError {
        KaitoError(.conflict, detail)
    }
}
