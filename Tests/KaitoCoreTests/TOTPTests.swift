import Foundation
import Testing
@testable import KaitoCore

@Suite("TOTP and HOTP against the published vectors")
struct TOTPTests {
    static let seeds: [OTPAlgorithm: [UInt8]] = [
        .sha1: Array("12345678901234567890".utf8),
        .sha256: Array("12345678901234567890123456789012".utf8),
        .sha512: Array("1234567890123456789012345678901234567890123456789012345678901234".utf8),
    ]

    /// RFC 6238 Appendix B: (time, SHA1, SHA256, SHA512), 8 digits, 30 s.
    static let rfc6238: [(Int64, String, String, String)] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ]

    @Test("RFC 6238 Appendix B", arguments: rfc6238)
    func rfc6238Vectors(vector: (Int64, String, String, String)) {
        let time = Date(timeIntervalSince1970: TimeInterval(vector.0))
        for (algorithm, expected) in [(OTPAlgorithm.sha1, vector.1), (.sha256, vector.2), (.sha512, vector.3)] {
            let parameters = TOTPParameters(algorithm: algorithm, digits: 8, period: 30)
            let generated = TOTP.code(secret: Self.seeds[algorithm]!, at: time, parameters: parameters)
            #expect(generated.code == expected, "\(algorithm) at \(vector.0)")
        }
    }

    /// RFC 4226 Appendix D: HOTP SHA1, 6 digits, counters 0 to 9.
    @Test("RFC 4226 Appendix D")
    func rfc4226Vectors() {
        let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        let parameters = TOTPParameters(algorithm: .sha1, digits: 6, period: 30)
        for (counter, code) in expected.enumerated() {
            #expect(TOTP.code(secret: Self.seeds[.sha1]!, counter: UInt64(counter), parameters: parameters) == code)
        }
        // The truncated values of the RFC's table, which fix the dynamic truncation itself.
        #expect(TOTP.truncatedValue(secret: Self.seeds[.sha1]!, counter: 0, algorithm: .sha1) == 1_284_755_224)
        #expect(TOTP.truncatedValue(secret: Self.seeds[.sha1]!, counter: 9, algorithm: .sha1) == 645_520_489)
    }

    @Test("Codes keep leading zeros and have the requested number of digits", arguments: [6, 7, 8])
    func digits(count: Int) {
        // At 1111111109 the SHA1 8-digit code is 07081804: its 6 and 7 digit forms are its suffixes.
        let parameters = TOTPParameters(algorithm: .sha1, digits: count, period: 30)
        let code = TOTP.code(secret: Self.seeds[.sha1]!, at: Date(timeIntervalSince1970: 1_111_111_109), parameters: parameters)
        #expect(code.code == String("07081804".suffix(count)))
    }

    @Test("expires_in counts the whole seconds left, 1 through period")
    func expiresIn() {
        let parameters = TOTPParameters(period: 30)
        let secret = Self.seeds[.sha1]!
        #expect(TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 60), parameters: parameters).expiresIn == 30)
        #expect(TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 60.9), parameters: parameters).expiresIn == 30)
        #expect(TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 89), parameters: parameters).expiresIn == 1)
        #expect(TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 89.99), parameters: parameters).expiresIn == 1)
        #expect(TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 76), parameters: parameters).expiresIn == 14)
    }

    @Test("Other periods move the counter at their own pace")
    func otherPeriods() {
        let secret = Self.seeds[.sha1]!
        let sixty = TOTPParameters(algorithm: .sha1, digits: 8, period: 60)
        // With a 60 s period, t = 1111111109 is counter 18518518: the code of 30 s counter... compared to HOTP.
        let code = TOTP.code(secret: secret, at: Date(timeIntervalSince1970: 1_111_111_109), parameters: sixty)
        #expect(code.code == TOTP.code(secret: secret, counter: 1_111_111_109 / 60, parameters: sixty))
        #expect(code.expiresIn == 60 - Int(1_111_111_109 % 60))
    }

    @Test("Steam Guard codes: five characters from Steam's alphabet, derived from the RFC 4226 value")
    func steam() {
        let secret = Self.seeds[.sha1]!
        let code = TOTP.code(secret: secret, counter: 0, parameters: .steam)
        #expect(code.count == 5)
        #expect(code.allSatisfy { "23456789BCDFGHJKMNPQRTVWXY".contains($0) })
        // 1284755224 in base 26, least significant digit first, over Steam's alphabet.
        var value = 1_284_755_224
        var expected = ""
        let alphabet = Array("23456789BCDFGHJKMNPQRTVWXY")
        for _ in 0..<5 {
            expected.append(alphabet[value % 26])
            value /= 26
        }
        #expect(code == expected)
    }
}
