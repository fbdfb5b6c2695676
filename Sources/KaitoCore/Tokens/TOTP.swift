import Crypto
import Foundation

/// RFC 4226 HOTP and RFC 6238 TOTP over SHA1, SHA256 and SHA512, plus Steam Guard's character codes.
public enum TOTP {
    static let steamAlphabet: [Character] = Array("23456789BCDFGHJKMNPQRTVWXY")

    /// The RFC 4226 dynamically truncated 31-bit value for `counter`.
    public static func truncatedValue(secret: [UInt8], counter: UInt64, algorithm: OTPAlgorithm) -> UInt32 {
        let key = SymmetricKey(data: secret)
        let message = withUnsafeBytes(of: counter.bigEndian) { Array($0) }
        let mac: [UInt8]
        switch algorithm {
        case .sha1: mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: key))
        case .sha256: mac = Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: mac = Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
        let offset = Int(mac[mac.count - 1] & 0x0F)
        return (UInt32(mac[offset] & 0x7F) << 24)
            | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
    }

    /// The HOTP code for `counter`: decimal digits left-padded with zeros, or Steam's five characters.
    public static func code(secret: [UInt8], counter: UInt64, parameters: TOTPParameters) -> String {
        var value = truncatedValue(secret: secret, counter: counter, algorithm: parameters.algorithm)
        switch parameters.kind {
        case .steam:
            var characters = ""
            for _ in 0..<5 {
                characters.append(steamAlphabet[Int(value % UInt32(steamAlphabet.count))])
                value /= UInt32(steamAlphabet.count)
            }
            return characters
        case .totp:
            var modulus: UInt32 = 1
            for _ in 0..<parameters.digits { modulus *= 10 }
            let digits = String(value % modulus)
            return String(repeating: "0", count: parameters.digits - digits.count) + digits
        }
    }

    /// The TOTP counter (time step) containing `time`.
    public static func counter(at time: Date, period: Int) -> UInt64 {
        UInt64(max(0, Timestamp.unixSeconds(time))) / UInt64(period)
    }

    /// The code valid at `time`, with the whole seconds left in its period (1...period).
    public static func code(secret: [UInt8], at time: Date, parameters: TOTPParameters) -> GeneratedCode {
        let seconds = UInt64(max(0, Timestamp.unixSeconds(time)))
        let period = UInt64(parameters.period)
        let code = code(secret: secret, counter: seconds / period, parameters: parameters)
        var generated = GeneratedCode(code: code, expiresIn: Int(period - seconds % period), period: parameters.period)
        generated.expiresAt = Int64((seconds / period + 1) * period) * 1000
        return generated
    }
}

/// A code and how long it stays valid.
public struct GeneratedCode: Sendable, Equatable {
    public var code: String
    /// Whole seconds left in the current period, 1...period.
    public var expiresIn: Int
    public var period: Int
    /// When the code stops being current: the end of its period, in Unix milliseconds (0 when not known).
    public var expiresAt: Int64 = 0

    public init(code: String, expiresIn: Int, period: Int) {
        self.code = code
        self.expiresIn = expiresIn
        self.period = period
    }
}
