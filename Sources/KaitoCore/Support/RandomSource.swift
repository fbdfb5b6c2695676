/// Where identifiers, keys, seeds and nonces get their randomness. Injected so that tests can pin it.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        // Eight bytes per draw from the generator (one getrandom call each), not one draw per byte.
        var generator = SystemRandomNumberGenerator()
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            var word: UInt64 = generator.next()
            for _ in 0..<min(8, count - result.count) {
                result.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return result
    }
}

extension RandomSource {
    /// `count` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
    public func string(count: Int, alphabet: [Character]) -> String {
        let ascii = alphabet.compactMap(\.asciiValue)
        precondition(ascii.count == alphabet.count && alphabet.count <= 256 && !alphabet.isEmpty, "an alphabet of ASCII characters")
        let limit = 256 - (256 % ascii.count)
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            for byte in bytes(count * 2) where Int(byte) < limit && result.count < count {
                result.append(ascii[Int(byte) % ascii.count])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
