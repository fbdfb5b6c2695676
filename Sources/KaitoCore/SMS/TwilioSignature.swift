import Crypto
import Foundation

/// Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed by the account's Auth Token, over
/// the full URL Twilio called followed by every POST parameter's name and value, sorted by name (and by value for a
/// repeated name).
public enum TwilioSignature {
    public static func compute(url: String, parameters: [(String, String)], authToken: String) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: signedBytes(url, parameters), using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    static func signedBytes(_ url: String, _ parameters: [(String, String)]) -> [UInt8] {
        var signed = Array(url.utf8)
        for (name, value) in parameters.sorted(by: { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }) {
            signed += Array(name.utf8) + Array(value.utf8)
        }
        return signed
    }

    /// Whether `signature` is valid for the request, compared in constant time.
    public static func isValid(_ signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        guard let given = Data(base64Encoded: signature) else { return false }
        return HMAC<Insecure.SHA1>.isValidAuthenticationCode(given, authenticating: signedBytes(url, parameters), using: SymmetricKey(data: Array(authToken.utf8)))
    }
}

/// `application/x-www-form-urlencoded` bodies, as Twilio sends them.
public enum FormEncoding {
    /// The name-value pairs in order; `+` is a space and `%XX` a byte.
    /// - Throws: `validation_failed` for a malformed percent escape or text that is not UTF-8.
    public static func decode(_ body: [UInt8]) throws -> [(String, String)] {
        guard !body.isEmpty else { return [] }
        return try body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            return (try unescape(parts[0]), try unescape(parts.count > 1 ? parts[1] : []))
        }
    }

    /// `parameters` as a form body: unreserved ASCII as is, everything else percent-escaped.
    public static func encode(_ parameters: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return parameters.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    static func unescape(_ bytes: ArraySlice<UInt8>) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard bytes.distance(from: index, to: bytes.endIndex) >= 3, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) else {
                    throw KaitoError.validation("body", "malformed percent escape")
                }
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw KaitoError.validation("body", "is not UTF-8") }
        return text
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
