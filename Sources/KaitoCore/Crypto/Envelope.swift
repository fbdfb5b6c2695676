import Crypto

/// The byte layout of everything Kaito encrypts: a version byte, the 12-byte nonce, the ciphertext and the
/// 16-byte GCM tag. The associated data names what the bytes belong to, so that ciphertext moved to another
/// row fails to open.
public enum Envelope {
    static let version: UInt8 = 1

    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case malformed
        case authenticationFailed

        public var description: String {
            switch self {
            case .malformed: return "encrypted value is malformed"
            case .authenticationFailed: return "encrypted value failed authentication (altered, or bound to another record)"
            }
        }
    }

    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, context: String, random: any RandomSource) throws -> [UInt8] {
        let nonce = try AES.GCM.Nonce(data: random.bytes(12))
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: Array(context.utf8))
        return [version] + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    public static func open(_ sealed: [UInt8], key: SymmetricKey, context: String) throws -> [UInt8] {
        guard sealed.count >= 1 + 12 + 16, sealed[0] == version else { throw Error.malformed }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[1..<13]),
                ciphertext: sealed[13..<(sealed.count - 16)],
                tag: sealed[(sealed.count - 16)...]
            )
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw Error.authenticationFailed
        }
    }
}
