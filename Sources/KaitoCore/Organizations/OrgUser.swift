import Foundation

/// A member of an organisation: the owner of keys issued to them, and (with the dashboard) a person who signs in.
public struct OrgUser: Sendable, Equatable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// Everything, including adding and removing owners.
        case owner
        /// Everything but adding or removing owners.
        case admin
        /// No `org:admin` key may be issued to a member.
        case member
    }

    public var id: String
    public var organizationID: String
    public var email: String
    public var name: String?
    public var role: Role
    public var createdAt: Date

    public init(id: String, organizationID: String, email: String, name: String?, role: Role, createdAt: Date) {
        self.id = id
        self.organizationID = organizationID
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }

    public static let idPrefix = "usr"

    /// A plausible address: one `@`, a dot in the domain, no spaces, at most 254 characters; stored in lowercase.
    public static func validatedEmail(_ text: String?) throws -> String {
        let email = (text ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix("."), !email.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw KaitoError.validation("email", "must be an email address")
        }
        return email
    }
}
