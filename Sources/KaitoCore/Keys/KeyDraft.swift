import Foundation

/// A new key as a client describes it, and the change of `PATCH /v1/keys/{id}`.
public struct KeyDraft: Sendable {
    public var name: String
    public var scopes: Set<Scope>
    public var allowedCIDRs: [CIDR] = []
    public var expiresAt: Date?
    public var singleUse = false
    public var tokenSlugs: [String]?
    public var rateLimits = RateLimitOverrides()
    /// The user the key is issued to (checked against the organisation's users when the key is created).
    public var userID: String?

    public init(name: String, scopes: Set<Scope>) {
        self.name = name
        self.scopes = scopes
    }

    /// Checks every field of a creation request, naming each bad one.
    /// - Throws: `validation_failed`.
    public static func validated(
        name: String?, scopes: [String]?, allowedCIDRs: [String]? = nil, expiresAt: String? = nil, singleUse: Bool? = nil,
        tokenSlugs: [String]? = nil, rateLimits: RateLimitOverrides? = nil, now: Date
    ) throws -> KeyDraft {
        var errors: [KaitoError.FieldError] = []
        func collect(_ body: () throws -> Void) {
            do { try body() } catch let error as KaitoError { errors += error.fieldErrors } catch {}
        }
        var draft = KeyDraft(name: "", scopes: [])
        collect { draft.name = try validatedName(name) }
        collect { draft.scopes = try Scope.parseList(scopes ?? []) }
        collect { draft.allowedCIDRs = try CIDR.parseList(allowedCIDRs ?? [], field: "allowed_cidrs") }
        collect { draft.expiresAt = try validatedExpiry(expiresAt, now: now) }
        collect { draft.tokenSlugs = try tokenSlugs.map { try validatedSlugs($0) } }
        collect { try rateLimits?.validate() }
        draft.singleUse = singleUse ?? false
        draft.rateLimits = rateLimits ?? RateLimitOverrides()
        if !errors.isEmpty { throw KaitoError.validation(errors) }
        return draft
    }

    static func validatedName(_ name: String?) throws -> String {
        let trimmed = name?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty { throw KaitoError.validation("name", "is required") }
        if trimmed.count > APIKey.nameLimit { throw KaitoError.validation("name", "must be at most \(APIKey.nameLimit) characters") }
        return trimmed
    }

    static func validatedExpiry(_ text: String?, now: Date) throws -> Date? {
        guard let text else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw KaitoError.validation("expires_at", "must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z")
        }
        guard date > now else { throw KaitoError.validation("expires_at", "is in the past") }
        return date
    }

    static func validatedSlugs(_ slugs: [String]) throws -> [String] {
        guard slugs.count <= 100 else { throw KaitoError.validation("token_slugs", "must list at most 100 tokens") }
        for (index, slug) in slugs.enumerated() where !Token.isValidSlug(slug) {
            throw KaitoError.validation("token_slugs[\(index)]", "must match [a-z0-9][a-z0-9-]{0,62}")
        }
        var seen = Set<String>()
        return slugs.filter { seen.insert($0).inserted }
    }
}

/// A field of a PATCH request: left as it is, or set (possibly to null).
public enum FieldUpdate<Value: Sendable>: Sendable {
    case unchanged
    case set(Value?)
}

/// The fields of `PATCH /v1/keys/{id}`.
public struct KeyChange: Sendable {
    public var name: String?
    public var allowedCIDRs: FieldUpdate<[String]> = .unchanged
    public var expiresAt: FieldUpdate<String> = .unchanged
    public var tokenSlugs: FieldUpdate<[String]> = .unchanged

    public init(name: String? = nil) { self.name = name }

    /// Applies the change to `key`, checking every field.
    /// - Throws: `validation_failed` naming the field.
    func apply(to key: APIKey, now: Date) throws -> APIKey {
        var key = key
        if let name { key.name = try KeyDraft.validatedName(name) }
        if case .set(let cidrs) = allowedCIDRs { key.allowedCIDRs = try CIDR.parseList(cidrs ?? [], field: "allowed_cidrs") }
        if case .set(let expiry) = expiresAt { key.expiresAt = try KeyDraft.validatedExpiry(expiry, now: now) }
        if case .set(let slugs) = tokenSlugs { key.tokenSlugs = try slugs.map { try KeyDraft.validatedSlugs($0) } }
        return key
    }
}
