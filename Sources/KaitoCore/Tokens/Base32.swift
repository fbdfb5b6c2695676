/// RFC 4648 base32, read the way people paste secrets: any case, with or without `=` padding, with spaces
/// (and the hyphens some sites print between groups).
public enum Base32 {
    static let alphabet: [Character] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    private static let values: [Character: UInt8] = Dictionary(
        uniqueKeysWithValues: alphabet.enumerated().map { ($0.element, UInt8($0.offset)) }
    )

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case invalidCharacter(Character, position: Int)
        case invalidLength
        case empty

        public var description: String {
            switch self {
            case .invalidCharacter(_, let position):
                // The character itself is not echoed: it came from a secret.
                return "the character at position \(position + 1) is not one of A-Z, 2-7"
            case .invalidLength: return "its length cannot come from whole bytes"
            case .empty: return "it is empty"
            }
        }
    }

    /// Decodes leniently; throws `DecodingError` naming the first offending character.
    public static func decode(_ text: String) throws(DecodingError) -> [UInt8] {
        var symbols: [UInt8] = []
        symbols.reserveCapacity(text.count)
        var paddingSeen = false
        for (position, character) in text.enumerated() {
            if character == " " || character == "-" || character == "\t" { continue }
            if character == "=" { paddingSeen = true; continue }
            let upper = Character(character.uppercased())
            guard !paddingSeen, let value = values[upper] else {
                throw .invalidCharacter(character, position: position)
            }
            symbols.append(value)
        }
        guard !symbols.isEmpty else { throw .empty }
        // 8 symbols carry 5 bytes; the remainders 1, 3 and 6 cannot come from whole bytes.
        guard ![1, 3, 6].contains(symbols.count % 8) else { throw .invalidLength }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(symbols.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            buffer = (buffer << 5) | UInt32(symbol)
            bits += 5
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return bytes
    }

    /// Canonical encoding: upper case, no padding (the form authenticator apps accept everywhere).
    public static func encode(_ bytes: [UInt8]) -> String {
        var result = ""
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                result.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 {
            result.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)])
        }
        return result
    }
}
