import Crypto
import Foundation

/// The server's root secret (32 bytes). Nothing is encrypted with it directly: HKDF derives one key per purpose,
/// so that the key that hashes API keys can never decrypt anything and vice versa.
public struct MasterKey: Sendable {
    let key: SymmetricKey
    /// A public fingerprint of the key, recorded beside every wrapped data key so that a server started with
    /// the wrong master key says so instead of failing to decrypt.
    public let id: String
    /// The key of the HMAC under which API keys are stored.
    public let keyHashingKey: SymmetricKey
    /// The key that wraps organisations' data keys.
    let wrappingKey: SymmetricKey
    /// The first key of the audit hash chains (kept as a server secret from then on, like `keyHashingKey`).
    let auditChainKey: SymmetricKey
    /// The key that signs a dashboard page view's tickets (`PageViewTicket`).
    let pageViewKey: SymmetricKey
    /// The key that seals what a dashboard form shows once after its redirect (`PageFlash`).
    let pageFlashKey: SymmetricKey

    /// - Throws: `MasterKey.Error.wrongLength` unless `bytes` is exactly 32 bytes.
    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw Error.wrongLength(bytes.count) }
        let key = SymmetricKey(data: bytes)
        self.key = key
        self.keyHashingKey = Self.derive(key, "kaito/v1/api-key-hash")
        self.wrappingKey = Self.derive(key, "kaito/v1/data-key-wrap")
        self.auditChainKey = Self.derive(key, "kaito/v1/audit-chain")
        self.pageViewKey = Self.derive(key, "kaito/v1/dashboard-page-view")
        self.pageFlashKey = Self.derive(key, "kaito/v1/dashboard-page-flash")
        let fingerprint = Self.derive(key, "kaito/v1/master-key-id").withUnsafeBytes { Array($0) }
        self.id = "mk_" + JSONText.hexString(fingerprint.prefix(8))
    }

    /// Parses the base64 text of `KAITO_MASTER_KEY` or of the key file (surrounding white space ignored).
    public init(base64 text: String) throws {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Error.notBase64
        }
        try self.init(bytes: Array(data))
    }

    /// A fresh random key.
    public static func generate(random: any RandomSource = SystemRandomSource()) -> (key: MasterKey, base64: String) {
        let bytes = random.bytes(32)
        // Force-try: 32 bytes is always the right length.
        return (try! MasterKey(bytes: bytes), Data(bytes).base64EncodedString())
    }

    private static func derive(_ key: SymmetricKey, _ info: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: key,
            salt: Array("kaito-master-key".utf8),
            info: Array(info.utf8),
            outputByteCount: 32
        )
    }

    public enum Error: Swift.Error, CustomStringConvertible {
        case wrongLength(Int)
        case notBase64

        public var description: String {
            switch self {
            case .wrongLength(let count): return "the master key must be 32 bytes, not \(count)"
            case .notBase64: return "the master key must be the base64 encoding of 32 bytes"
            }
        }
    }
}
