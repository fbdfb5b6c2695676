import Foundation

/// An `otpauth://totp/...` key URI (the format of Google Authenticator's key-uri wiki), parsed with all its
/// parameters: `secret`, `issuer`, `algorithm`, `digits`, `period`, and `encoder=steam` for Steam Guard.
public struct OTPAuthURI: Sendable, Equatable {
    public var issuer: String?
    public var account: String?
    public var secret: [UInt8]
    public var parameters: TOTPParameters

    public static let maximumLength = 2048

    /// The parameters a Steam Guard URI must leave out: `encoder=steam` fixes them.
    public static let steamFixedParameters = ["algorithm", "digits", "period"]

    public init(issuer: String?, account: String?, secret: [UInt8], parameters: TOTPParameters) {
        self.issuer = issuer
        self.account = account
        self.secret = secret
        self.parameters = parameters
    }

    /// Parses `text`; every error is a `validation_failed` naming `field` and saying what is wrong.
    public init(parsing text: String, field: String = "otpauth_uri") throws {
        func invalid(_ message: String) -> KaitoError { KaitoError.validation(field, message) }
        guard text.utf8.count <= Self.maximumLength else { throw invalid("is longer than \(Self.maximumLength) bytes") }
        guard text.lowercased().hasPrefix("otpauth://") else { throw invalid("must start with otpauth://") }
        guard let components = URLComponents(string: text) else { throw invalid("is not a valid URI") }
        guard let type = components.host?.lowercased(), !type.isEmpty else { throw invalid("has no type (otpauth://totp/...)") }
        guard type == "totp" else {
            throw invalid(type == "hotp" ? "is an HOTP (counter-based) key; only TOTP is supported" : "has unknown type '\(type.prefix(20))'")
        }

        // Percent-escapes that do not decode to UTF-8 would be dropped silently (an account lost): refused instead.
        let encodedParts = [components.percentEncodedPath] + (components.percentEncodedQueryItems ?? []).flatMap { [$0.name, $0.value ?? ""] }
        guard encodedParts.allSatisfy({ $0.removingPercentEncoding != nil }) else { throw invalid("has percent-escapes that are not UTF-8") }

        var query: [String: String] = [:]
        for item in components.queryItems ?? [] {
            let name = item.name.lowercased()
            guard query[name] == nil else { throw invalid("repeats the parameter '\(name.prefix(20))'") }
            query[name] = item.value ?? ""
        }

        // Label: "Issuer:account" or "account", percent-decoded by URLComponents.
        var label = components.path
        if label.hasPrefix("/") { label.removeFirst() }
        var labelIssuer: String?
        var account: String?
        if let colon = label.firstIndex(of: ":") {
            labelIssuer = String(label[..<colon]).trimmingCharacters(in: .whitespaces)
            account = String(label[label.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        } else if !label.isEmpty {
            account = label
        }
        let issuerParameter = query["issuer"].flatMap { $0.isEmpty ? nil : $0 }
        let issuer = issuerParameter ?? (labelIssuer?.isEmpty == false ? labelIssuer : nil)

        guard let secretText = query["secret"], !secretText.isEmpty else { throw invalid("has no secret parameter") }
        let secret = try TOTPParameters.decodeSecret(secretText, field: field + ".secret")

        var parameters = TOTPParameters()
        if let encoder = query["encoder"] {
            guard encoder.lowercased() == "steam" else { throw invalid("has unknown encoder '\(encoder.prefix(20))'") }
            // Steam Guard fixes its own algorithm, digits and period: a Steam URI that names any of them is refused.
            if let fixed = Self.steamFixedParameters.first(where: { query[$0] != nil }) {
                throw invalid("is a Steam Guard key, which takes no \(fixed) parameter")
            }
            parameters = .steam
        }
        if let algorithm = query["algorithm"] {
            guard let parsed = OTPAlgorithm(lenient: algorithm) else {
                throw KaitoError.validation(field + ".algorithm", "must be SHA1, SHA256 or SHA512")
            }
            parameters.algorithm = parsed
        }
        if let digits = query["digits"] {
            guard let parsed = Int(digits) else { throw KaitoError.validation(field + ".digits", "must be a number") }
            parameters.digits = parsed
        }
        if let period = query["period"] {
            guard let parsed = Int(period) else { throw KaitoError.validation(field + ".period", "must be a number") }
            parameters.period = parsed
        }
        try parameters.validate(fieldPrefix: field + ".")
        self.init(issuer: issuer, account: account, secret: secret, parameters: parameters)
    }

    /// The URI an authenticator app imports.
    public var uriString: String {
        var components = URLComponents()
        components.scheme = "otpauth"
        components.host = "totp"
        let labelParts = [issuer, account].compactMap { $0 }.filter { !$0.isEmpty }
        components.path = "/" + (labelParts.isEmpty ? "kaito" : labelParts.joined(separator: ":"))
        var items = [URLQueryItem(name: "secret", value: Base32.encode(secret))]
        if let issuer, !issuer.isEmpty { items.append(URLQueryItem(name: "issuer", value: issuer)) }
        if parameters.kind == .steam {
            items.append(URLQueryItem(name: "encoder", value: "steam"))
        } else {
            items.append(URLQueryItem(name: "algorithm", value: parameters.algorithm.rawValue))
            items.append(URLQueryItem(name: "digits", value: String(parameters.digits)))
            items.append(URLQueryItem(name: "period", value: String(parameters.period)))
        }
        components.queryItems = items
        return components.string ?? "otpauth://totp/kaito?secret=\(Base32.encode(secret))"
    }
}
