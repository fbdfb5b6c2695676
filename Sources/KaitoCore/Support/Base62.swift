/// Base62 with the alphabet `0-9A-Za-z`, as the key format of docs/api.md#authentication uses it.
public enum Base62 {
    public static let alphabet: [Character] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    /// `alphabet` as ASCII bytes (for `RandomSource.string(count:ascii:)`).
    public static let ascii: [UInt8] = alphabet.compactMap(\.asciiValue)

    /// `value` in base62, most significant digit first, left-padded with `0` to `width` characters.
    public static func encode(_ value: UInt64, width: Int) -> String {
        var digits: [Character] = []
        var rest = value
        repeat {
            digits.append(alphabet[Int(rest % 62)])
            rest /= 62
        } while rest > 0
        while digits.count < width { digits.append("0") }
        return String(digits.reversed())
    }
}
