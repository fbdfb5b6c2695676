/// The hash function of an HOTP/TOTP token.
public enum OTPAlgorithm: String, Sendable, Codable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha512 = "SHA512"

    /// Parses `SHA1`, `sha-256` and similar spellings.
    public init?(lenient text: String) {
        let normalized = text.uppercased().replacingOccurrences(of: "-", with: "")
        self.init(rawValue: normalized)
    }
}

/// Whether a token produces RFC 6238 digits or Steam Guard's five characters.
public enum TokenKind: String, Sendable, Codable, CaseIterable {
    case totp
    case steam
}

/// Everything that determines a token's codes besides its secret.
public struct TOTPParameters: Sendable, Equatable {
    public var kind: TokenKind
    public var algorithm: OTPAlgorithm
    public var digits: Int
    public var period: Int

    public static let digitsRange = 6...8
    public static let periodRange = 15...300
    /// Secrets shorter than 80 bits are refused (RFC 4226 asks for 128, but 80-bit secrets are common in the wild).
    public static let secretLengthRange = 10...128

    public init(kind: TokenKind = .totp, algorithm: OTPAlgorithm = .sha1, digits: Int = 6, period: Int = 30) {
        self.kind = kind
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    /// Steam Guard: SHA1, 30 s, five characters.
    public static let steam = TOTPParameters(kind: .steam, algorithm: .sha1, digits: 5, period: 30)

    /// Checks ranges, naming each bad field with `prefix` (for example `otpauth_uri.`).
    public func validate(fieldPrefix prefix: String = "") throws {
        var errors: [KaitoError.FieldError] = []
        if kind == .totp {
            if !Self.digitsRange.contains(digits) {
                errors.append(.init(field: prefix + "digits", message: "must be 6, 7 or 8"))
            }
            if !Self.periodRange.contains(period) {
                errors.append(.init(field: prefix + "period", message: "must be between 15 and 300 seconds"))
            }
        }
        if !errors.isEmpty { throw KaitoError.validation(errors) }
    }

    /// Decodes and checks a secret as users paste it.
    /// - Throws: `validation_failed` on `field` for bad base32 or a length outside `secretLengthRange`.
    public static func decodeSecret(_ text: String, field: String) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try Base32.decode(text)
        } catch {
            throw KaitoError.validation(field, "is not valid base32: \(error.description)")
        }
        guard secretLengthRange.contains(bytes.count) else {
            throw KaitoError.validation(field, "must decode to between 10 and 128 bytes (16 to 205 base32 characters); it decodes to \(bytes.count)")
        }
        return bytes
    }
}
