import Crypto

/// The byte layout of everything Kaito encrypts. Format 1: a format byte (1), the 12-byte nonce, the ciphertext and
/// the 16-byte GCM tag; it is sealed by version 1 of a key. Format 2 adds the version of the key that sealed it, so that
/// a key can be rotated while values sealed by its earlier versions are re-encrypted: the format byte (2), the key
/// version (4 bytes, big-endian), the nonce, the ciphertext and the tag; the first five bytes are authenticated with
/// the associated data. The associated data names what the bytes belong to, so that ciphertext moved to another row
/// fails to open.
public enum Envelope {
    static let unversioned: UInt8 = 1
    static let versioned: UInt8 = 2

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

    /// Seals `plaintext` under version `keyVersion` of a key (version 1 writes format 1, as every release did before
    /// keys had versions).
    public static func seal(_ plaintext: [UInt8], key: SymmetricKey, context: String, keyVersion: Int = 1, random: any RandomSource) throws -> [UInt8] {
        precondition(keyVersion >= 1 && keyVersion <= Int(UInt32.max), "key versions start at 1")
        let header: [UInt8] = keyVersion == 1 ? [unversioned] : [versioned] + withUnsafeBytes(of: UInt32(keyVersion).bigEndian) { Array($0) }
        let nonce = try AES.GCM.Nonce(data: random.bytes(12))
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: associatedData(header, context))
        return header + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    /// The version of the key that sealed `sealed`, read from its header (not yet authenticated).
    /// - Throws: `Error.malformed` for bytes that are not an envelope.
    public static func keyVersion(of sealed: [UInt8]) throws -> Int {
        try header(of: sealed).keyVersion
    }

    public static func open(_ sealed: [UInt8], key: SymmetricKey, context: String) throws -> [UInt8] {
        let (length, _) = try header(of: sealed)
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: sealed[length..<(length + 12)]),
                ciphertext: sealed[(length + 12)..<(sealed.count - 16)],
                tag: sealed[(sealed.count - 16)...]
            )
            return Array(try AES.GCM.open(box, using: key, authenticating: associatedData(Array(sealed[..<length]), context)))
        } catch {
            throw Error.authenticationFailed
        }
    }

    private static func header(of sealed: [UInt8]) throws -> (length: Int, keyVersion: Int) {
        switch sealed.first {
        case unversioned where sealed.count >= 1 + 12 + 16:
            return (1, 1)
        case versioned where sealed.count >= 5 + 12 + 16:
            let version = sealed[1..<5].reduce(0) { $0 << 8 | Int($1) }
            guard version >= 2 else { throw Error.malformed }
            return (5, version)
        default:
            throw Error.malformed
        }
    }

    /// Format 1 authenticates the context alone (unchanged since the first release); format 2 its header too.
    private static func associatedData(_ header: [UInt8], _ context: String) -> [UInt8] {
        header.count == 1 ? Array(context.utf8) : header + Array(context.utf8)
    }
}
