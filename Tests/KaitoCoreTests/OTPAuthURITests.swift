import Testing
@testable import KaitoCore

@Suite("otpauth:// URIs")
struct OTPAuthURITests {
    @Test("Every parameter is read")
    func full() throws {
        let uri = try OTPAuthURI(parsing: "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60")
        #expect(uri.issuer == "ACME Co")
        #expect(uri.account == "john.doe@email.com")
        #expect(uri.parameters == TOTPParameters(kind: .totp, algorithm: .sha256, digits: 8, period: 60))
        #expect(Base32.encode(uri.secret) == "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ")
    }

    @Test("Defaults, label-only issuer, lowercase algorithm")
    func defaults() throws {
        let plain = try OTPAuthURI(parsing: "otpauth://totp/alice@example.com?secret=JBSWY3DPEHPK3PXP")
        #expect(plain.issuer == nil)
        #expect(plain.account == "alice@example.com")
        #expect(plain.parameters == TOTPParameters())
        let labelled = try OTPAuthURI(parsing: "otpauth://TOTP/AWS:root@acme.example?secret=jbswy3dpehpk3pxp&algorithm=sha512")
        #expect(labelled.issuer == "AWS")
        #expect(labelled.parameters.algorithm == .sha512)
    }

    @Test("Steam Guard through encoder=steam")
    func steam() throws {
        let uri = try OTPAuthURI(parsing: "otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam")
        #expect(uri.parameters == .steam)
    }

    static let steamWithParameters: [String] = OTPAuthURI.steamFixedParameters.flatMap { name in
        let values = ["algorithm": ["SHA1", "SHA256", "sha1", ""], "digits": ["5", "6", "8", ""], "period": ["30", "60", ""]][name] ?? []
        return values.flatMap { value in [
            "otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&encoder=steam&\(name)=\(value)",
            "otpauth://totp/Steam:gaben?\(name.uppercased())=\(value)&secret=JBSWY3DPEHPK3PXP&encoder=STEAM",
        ] }
    }

    @Test("A Steam URI that names algorithm, digits or period is refused, whatever the value", arguments: steamWithParameters)
    func steamWithParameter(uri: String) {
        let error = #expect(throws: KaitoError.self) { try OTPAuthURI(parsing: uri) }
        #expect(error?.code == .validationFailed)
        #expect(error?.fieldErrors.first?.field == "otpauth_uri")
    }

    @Test("A Steam key's own URI round-trips (it names only encoder=steam)")
    func steamRoundTrip() throws {
        let original = try OTPAuthURI(parsing: "otpauth://totp/Steam:gaben?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam")
        #expect(!original.uriString.contains("digits=") && original.uriString.contains("encoder=steam"))
        #expect(try OTPAuthURI(parsing: original.uriString) == original)
    }

    @Test("Round trip through uriString")
    func roundTrip() throws {
        let original = try OTPAuthURI(parsing: "otpauth://totp/AWS:root@acme.example?secret=JBSWY3DPEHPK3PXP&issuer=AWS&digits=7&period=45&algorithm=SHA256")
        #expect(try OTPAuthURI(parsing: original.uriString) == original)
    }

    static let hostile: [(String, String)] = [
        ("https://example.com/?secret=JBSWY3DPEHPK3PXP", "otpauth_uri"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1", "otpauth_uri"),
        ("otpauth://totp/x?issuer=A", "otpauth_uri"),
        ("otpauth://totp/x?secret=", "otpauth_uri"),
        ("otpauth://totp/x?secret=JBSWY3DP!EHPK3PXP", "otpauth_uri.secret"),
        ("otpauth://totp/x?secret=JBSWY3DP", "otpauth_uri.secret"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "otpauth_uri.algorithm"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9", "otpauth_uri.digits"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six", "otpauth_uri.digits"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=5", "otpauth_uri.period"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=-30", "otpauth_uri.period"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=99999999999999999999999", "otpauth_uri.period"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&secret=MZXW6YTB", "otpauth_uri"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&encoder=rot13", "otpauth_uri"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&encoder=steam&period=60", "otpauth_uri"),
        ("otpauth://", "otpauth_uri"),
        ("otpauth://totp/" + String(repeating: "a", count: 3000) + "?secret=JBSWY3DPEHPK3PXP", "otpauth_uri"),
    ]

    @Test("Hostile and broken URIs name the field", arguments: hostile)
    func refused(input: (String, String)) {
        let error = #expect(throws: KaitoError.self) { try OTPAuthURI(parsing: input.0) }
        #expect(error?.code == .validationFailed)
        #expect(error?.fieldErrors.first?.field == input.1)
    }
}
