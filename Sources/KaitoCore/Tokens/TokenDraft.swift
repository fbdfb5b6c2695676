/// A token as a client describes it: a base32 secret with explicit parameters, or an `otpauth://` URI.
/// `validated()` turns it into the checked values a token is made of.
public struct TokenDraft: Sendable {
    public var slug: String?
    public var name: String?
    public var issuer: String?
    public var account: String?
    public var secret: String?
    public var otpauthURI: String?
    public var algorithm: String?
    public var digits: Int?
    public var period: Int?
    public var kind: String?

    public init(
        slug: String? = nil, name: String? = nil, issuer: String? = nil, account: String? = nil,
        secret: String? = nil, otpauthURI: String? = nil, algorithm: String? = nil, digits: Int? = nil,
        period: Int? = nil, kind: String? = nil
    ) {
        self.slug = slug
        self.name = name
        self.issuer = issuer
        self.account = account
        self.secret = secret
        self.otpauthURI = otpauthURI
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
        self.kind = kind
    }

    /// The seed and parameters, from either form.
    public struct Seed: Sendable {
        public var secret: [UInt8]
        public var parameters: TOTPParameters
        public var issuer: String?
        public var account: String?
    }

    /// Checks the seed part alone (creation and rotation share it). Parameters not given explicitly come from
    /// `base` (the defaults on creation, the token's own parameters on rotation).
    /// - Throws: `validation_failed` naming the field.
    public func validatedSeed(base: TOTPParameters = TOTPParameters()) throws -> Seed {
        switch (secret, otpauthURI) {
        case (nil, nil):
            throw KaitoError.validation("secret", "give either secret or otpauth_uri")
        case (.some, .some):
            throw KaitoError.validation("otpauth_uri", "give either secret or otpauth_uri, not both")
        case (nil, .some(let uri)):
            for (field, value) in [("algorithm", algorithm as Any?), ("digits", digits), ("period", period), ("kind", kind)] where value != nil {
                throw KaitoError.validation(field, "comes from otpauth_uri; do not give it separately")
            }
            let parsed = try OTPAuthURI(parsing: uri)
            // The URI's issuer and account are held to the rules of the fields they fill (no control characters).
            return Seed(
                secret: parsed.secret, parameters: parsed.parameters,
                issuer: try Self.text(parsed.issuer, field: "otpauth_uri"), account: try Self.text(parsed.account, field: "otpauth_uri"))
        case (.some(let text), nil):
            let parameters = try explicitParameters(base: base)
            let secret = try TOTPParameters.decodeSecret(text, field: "secret")
            return Seed(secret: secret, parameters: parameters, issuer: nil, account: nil)
        }
    }

    private func explicitParameters(base: TOTPParameters) throws -> TOTPParameters {
        let kind: TokenKind
        if let text = self.kind {
            guard let parsed = TokenKind(rawValue: text) else { throw KaitoError.validation("kind", "must be totp or steam") }
            kind = parsed
        } else {
            kind = base.kind
        }
        if kind == .steam {
            if let algorithm, OTPAlgorithm(lenient: algorithm) != .sha1 {
                throw KaitoError.validation("algorithm", "a Steam Guard token always uses SHA1")
            }
            if digits != nil { throw KaitoError.validation("digits", "a Steam Guard token always has five characters") }
            if let period, period != 30 { throw KaitoError.validation("period", "a Steam Guard token always uses 30 seconds") }
            return .steam
        }
        var parameters = base.kind == .totp ? base : TOTPParameters()
        if let algorithm {
            guard let parsed = OTPAlgorithm(lenient: algorithm) else {
                throw KaitoError.validation("algorithm", "must be SHA1, SHA256 or SHA512")
            }
            parameters.algorithm = parsed
        }
        if let digits { parameters.digits = digits }
        if let period { parameters.period = period }
        try parameters.validate()
        return parameters
    }

    /// Checks an optional free-text field.
    /// Characters no name shown to people may hold: controls, line and paragraph separators, and the bidirectional
    /// controls that make text display as something other than it is (U+202A–202E, U+2066–2069, marks, the BOM).
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
            || [0x200E, 0x200F, 0x061C, 0xFEFF].contains(scalar.value)
        }
    }

    static func text(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count <= Token.textLimit else {
            throw KaitoError.validation(field, "must be at most \(Token.textLimit) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: isForbidden) else {
            throw KaitoError.validation(field, "must not contain control, line-separator or bidirectional-control characters")
        }
        return trimmed.isEmpty ? nil : trimmed
    }
}
