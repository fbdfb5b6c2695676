import Foundation
import NIOConcurrencyHelpers

/// Resource identifiers: a type prefix and 26 Crockford base32 characters, the first ten of which encode the
/// creation time in milliseconds (as a ULID does), so that identifiers sort by creation and serve as list cursors.
public enum Identifier {
    static let crockford: [Character] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    static let crockfordASCII: [UInt8] = crockford.compactMap(\.asciiValue)

    /// A new identifier such as `key_01JD5B4W6T0Q9M8Z7X3C2V1N0P`.
    public static func make(prefix: String, at time: Date, random: any RandomSource) -> String {
        // Ten characters hold 50 bits; a time outside them (or NaN) is clamped, never a trap.
        let milliseconds = (time.timeIntervalSince1970 * 1000).rounded(.down)
        let millis = milliseconds > 0 ? UInt64(min(milliseconds, Double(1 << 50 - 1))) : 0
        let timePart = String(unsafeUninitializedCapacity: 10) { buffer in
            for position in 0..<10 { buffer[9 - position] = crockfordASCII[Int((millis >> (5 * UInt64(position))) & 31)] }
            return 10
        }
        return prefix + "_" + timePart + random.string(count: 16, ascii: crockfordASCII)
    }

    /// Whether `value` has the shape of an identifier with `prefix` (used to refuse garbage before a query).
    public static func isWellFormed(_ value: String, prefix: String) -> Bool {
        guard value.hasPrefix(prefix + "_") else { return false }
        let body = value.dropFirst(prefix.count + 1)
        return body.count == 26 && body.allSatisfy { crockford.contains($0) }
    }
}

/// Identifiers that increase strictly within this process, even within one millisecond or when the clock steps
/// back: a later call returns the previous identifier plus one when its own would not sort after it. Messages
/// use it, so that `after=<id>` cursors never skip one that arrived in the same millisecond.
public final class MonotonicIdentifiers: Sendable {
    private let last = NIOLockedValueBox<[String: String]>([:])

    public init() {}

    public func make(prefix: String, at time: Date, random: any RandomSource) -> String {
        let candidate = Identifier.make(prefix: prefix, at: time, random: random)
        return last.withLockedValue { last in
            var next = candidate
            if let previous = last[prefix], next <= previous { next = Identifier.successor(of: previous) }
            last[prefix] = next
            return next
        }
    }
}

extension Identifier {
    /// The identifier one above `id` (its 26 characters read as one base-32 number).
    static func successor(of id: String) -> String {
        guard let separator = id.lastIndex(of: "_") else { return id }
        var digits = Array(id[id.index(after: separator)...])
        var position = digits.count - 1
        while position >= 0 {
            let value = crockford.firstIndex(of: digits[position]) ?? 0
            if value < 31 {
                digits[position] = crockford[value + 1]
                break
            }
            digits[position] = crockford[0]
            position -= 1
        }
        return String(id[...separator]) + String(digits)
    }
}
