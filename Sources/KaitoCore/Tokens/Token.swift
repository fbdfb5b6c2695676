import Foundation

/// A shared TOTP secret. The seed is held only encrypted (`sealedSeed`); see `DataKey.openSeed`.
public struct Token: Sendable, Equatable {
    public var id: String
    public var organizationID: String
    public var slug: String
    public var name: String
    public var issuer: String?
    public var account: String?
    public var parameters: TOTPParameters
    public var sealedSeed: [UInt8]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, organizationID: String, slug: String, name: String, issuer: String?, account: String?,
        parameters: TOTPParameters, sealedSeed: [UInt8], createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.organizationID = organizationID
        self.slug = slug
        self.name = name
        self.issuer = issuer
        self.account = account
        self.parameters = parameters
        self.sealedSeed = sealedSeed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let idPrefix = "tok"
    public static let textLimit = 200

    /// `[a-z0-9][a-z0-9-]{0,62}`.
    public static func isValidSlug(_ slug: String) -> Bool {
        let bytes = Array(slug.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool { (97...122).contains(byte) || (48...57).contains(byte) }
        return isAlphanumeric(bytes[0]) && bytes.dropFirst().allSatisfy { isAlphanumeric($0) || $0 == 45 }
    }
}
