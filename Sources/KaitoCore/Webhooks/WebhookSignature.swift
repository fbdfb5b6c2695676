import Crypto
import Foundation

/// Standard Webhooks signing: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the bytes of a
/// `whsec_<base64>` secret.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "whsec_"
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Parses `whsec_<base64>` (the prefix is optional, as Standard Webhooks libraries accept).
    public init?(_ text: String) {
        let body = text.hasPrefix(Self.prefix) ? String(text.dropFirst(Self.prefix.count)) : text
        guard let data = Data(base64Encoded: body), (16...64).contains(data.count) else { return nil }
        self.bytes = Array(data)
    }

    public static func generate(random: any RandomSource) -> WebhookSecret {
        WebhookSecret(bytes: random.bytes(24))
    }

    /// The text shown to the user once.
    public var text: String { Self.prefix + Data(bytes).base64EncodedString() }
    public var description: String { "whsec_…" }

    /// The `v1,<base64>` signature of one delivery.
    public func sign(id: String, timestamp: Int64, body: [UInt8]) -> String {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: bytes))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Whether `header` (space-separated `v1,<base64>` signatures) holds a valid signature, compared in constant time.
    public func verify(header: String, id: String, timestamp: Int64, body: [UInt8]) -> Bool {
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let key = SymmetricKey(data: bytes)
        return header.split(separator: " ").contains { candidate in
            guard candidate.hasPrefix("v1,"), let mac = Data(base64Encoded: String(candidate.dropFirst(3))) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key)
        }
    }
}
