import Crypto
import Foundation

/// The secret text of an API key: `kto_live_`, 30 random base62 characters, and a 6-character base62 CRC32 of
/// those 30 characters (docs/api.md#authentication), so that a secret scanner can recognise a real key offline.
public struct APIKeySecret: Sendable, Equatable, CustomStringConvertible {
    public static let prefix = "kto_live_"
    public static let randomLength = 30
    public static let checksumLength = 6
    public static let length = prefix.count + randomLength + checksumLength

    /// The full key. Never logged: `description` hides it.
    public let value: String

    public var description: String { "kto_live_…" }

    /// A key with a fresh random part.
    public static func generate(random: any RandomSource = SystemRandomSource()) -> APIKeySecret {
        let body = random.string(count: randomLength, ascii: Base62.ascii)
        return APIKeySecret(unchecked: prefix + body + checksum(of: body))
    }

    private init(unchecked value: String) { self.value = value }

    /// Accepts `text` only when its prefix, length, alphabet and checksum are right.
    public init?(parsing text: String) {
        guard text.utf8.count == Self.length, text.hasPrefix(Self.prefix) else { return nil }
        let rest = text.utf8.dropFirst(Self.prefix.utf8.count)
        guard rest.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }) else { return nil }
        let body = String(decoding: rest.prefix(Self.randomLength), as: UTF8.self)
        let checksum = String(decoding: rest.suffix(Self.checksumLength), as: UTF8.self)
        guard Self.checksum(of: body) == checksum else { return nil }
        self.value = text
    }

    /// The base62 CRC32 of the random part, left-padded to six characters.
    public static func checksum(of body: String) -> String {
        Base62.encode(UInt64(CRC32.checksum(body.utf8)), width: checksumLength)
    }

    /// A short, non-secret hint shown in listings to tell keys apart: the prefix and the first four random characters.
    public var hint: String { String(value.prefix(Self.prefix.count + 4)) }
}

/// Turns API keys into what the database stores: HMAC-SHA256 under a key derived from the master key, so that a
/// stolen database does not allow offline guessing without the master key too.
public struct APIKeyHasher: Sendable {
    /// HMAC-SHA256 keyed once; each hash starts from a copy.
    private let keyed: HMAC<SHA256>

    public init(master: MasterKey) { self.keyed = HMAC<SHA256>(key: master.keyHashingKey) }

    /// A hasher under a key kept wrapped in the database (it outlives master-key rotations).
    public init(key bytes: [UInt8]) { self.keyed = HMAC<SHA256>(key: SymmetricKey(data: bytes)) }

    public func hash(_ secret: APIKeySecret) -> [UInt8] {
        Array(mac(secret))
    }

    /// Constant-time check that `stored` is the hash of `secret`.
    public func matches(_ secret: APIKeySecret, stored: [UInt8]) -> Bool {
        mac(secret) == stored
    }

    private func mac(_ secret: APIKeySecret) -> HashedAuthenticationCode<SHA256> {
        var mac = keyed
        mac.update(data: Array(secret.value.utf8))
        return mac.finalize()
    }
}
