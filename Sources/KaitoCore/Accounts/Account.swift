import Foundation

/// A user's dashboard credentials: a bcrypt hash of the password and the TOTP second factor, whose secret is sealed
/// by the organisation's data key like a token's seed. Every user enrols the second factor at the first sign-in.
public struct UserCredentials: Sendable, Equatable {
    public var userID: String
    public var organizationID: String
    /// bcrypt (`$2b$`), from `HummingbirdBcrypt`.
    public var passwordHash: String
    /// The TOTP secret, sealed; set at the first sign-in, enrolled once a code from it was entered.
    public var sealedTOTPSecret: [UInt8]?
    public var totpEnrolledAt: Date?
    /// The time step of the last code accepted: a code is accepted once (no replay within its window).
    public var lastTOTPCounter: Int?
    /// Wrong passwords or codes since the last success; at `SignInService.attemptLimit` the account locks.
    public var failedAttempts: Int
    public var lockedUntil: Date?
    public var updatedAt: Date

    public init(
        userID: String, organizationID: String, passwordHash: String, sealedTOTPSecret: [UInt8]? = nil, totpEnrolledAt: Date? = nil,
        lastTOTPCounter: Int? = nil, failedAttempts: Int = 0, lockedUntil: Date? = nil, updatedAt: Date
    ) {
        self.userID = userID
        self.organizationID = organizationID
        self.passwordHash = passwordHash
        self.sealedTOTPSecret = sealedTOTPSecret
        self.totpEnrolledAt = totpEnrolledAt
        self.lastTOTPCounter = lastTOTPCounter
        self.failedAttempts = failedAttempts
        self.lockedUntil = lockedUntil
        self.updatedAt = updatedAt
    }
}

/// A dashboard session. The browser holds a random token in a cookie; the database holds only its SHA-256.
/// A session is first `pending` (password checked) and becomes complete when the second factor is entered, at which
/// point it gets a new token (the pending one stops working).
public struct DashboardSession: Sendable, Equatable {
    public var id: String
    public var tokenHash: [UInt8]
    public var userID: String
    public var organizationID: String
    /// When the second factor was entered; nil while the session is pending.
    public var secondFactorAt: Date?
    /// Every form of the session carries it; a POST without it is refused.
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date
    public var lastSeenAt: Date

    public init(
        id: String, tokenHash: [UInt8], userID: String, organizationID: String, secondFactorAt: Date?, csrfToken: String,
        createdAt: Date, expiresAt: Date, lastSeenAt: Date
    ) {
        self.id = id
        self.tokenHash = tokenHash
        self.userID = userID
        self.organizationID = organizationID
        self.secondFactorAt = secondFactorAt
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
    }

    public static let idPrefix = "ses"
    public var isComplete: Bool { secondFactorAt != nil }
}
