import Foundation

/// Where identifiers, keys, seeds and nonces get their randomness. Injected so that tests can pin it.
public protocol RandomSource: Sendable {
    /// `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        // One getentropy(3) call (the kernel's CSPRNG, up to 256 bytes a call) rather than one per eight bytes.
        var result = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let chunk = min(256, count - filled)
            let status = result.withUnsafeMutableBytes { getentropy($0.baseAddress! + filled, chunk) }
            if status == 0 {
                filled += chunk
            } else {
                // Not expected (it fails only for more than 256 bytes): the standard library's generator never fails.
                var generator = SystemRandomNumberGenerator()
                result[filled] = UInt8(truncatingIfNeeded: generator.next() as UInt64)
                filled += 1
            }
        }
        return result
    }
}

extension RandomSource {
    /// `count` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
    public func string(count: Int, alphabet: [Character]) -> String {
        let ascii = alphabet.compactMap(\.asciiValue)
        precondition(ascii.count == alphabet.count, "an alphabet of ASCII characters")
        return string(count: count, ascii: ascii)
    }

    /// `count` characters drawn uniformly from `ascii` (its bytes, ASCII): the same draw as
    /// `string(count:alphabet:)`, without turning characters into bytes on every call (identifiers are made on every
    /// request).
    public func string(count: Int, ascii: [UInt8]) -> String {
        precondition(ascii.count <= 256 && !ascii.isEmpty, "an alphabet of 1 to 256 characters")
        // Checked in debug builds only: the alphabets are constants, and this runs for every identifier.
        assert(ascii.allSatisfy { $0 < 128 }, "an alphabet of ASCII characters")
        let limit = 256 - (256 % ascii.count)
        return String(unsafeUninitializedCapacity: count) { buffer in
            var filled = 0
            while filled < count {
                for byte in bytes(count * 2) where Int(byte) < limit && filled < count {
                    buffer[filled] = ascii[Int(byte) % ascii.count]
                    filled += 1
                }
            }
            return count
        }
    }
}
