import Foundation
import Testing
@testable import KaitoCore

@Suite("Identifiers")
struct IdentifierTests {
    @Test("Monotonic identifiers increase strictly within one millisecond and when the clock steps back")
    func monotonic() {
        let ids = MonotonicIdentifiers()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var made = (0..<500).map { _ in ids.make(prefix: "sms", at: now, random: SystemRandomSource()) }
        made.append(ids.make(prefix: "sms", at: now.addingTimeInterval(-60), random: SystemRandomSource()))
        #expect(zip(made, made.dropFirst()).allSatisfy { $0 < $1 })
        #expect(made.allSatisfy { Identifier.isWellFormed($0, prefix: "sms") })
        #expect(Identifier.successor(of: "sms_0000000000000000000000000Z") == "sms_00000000000000000000000010")
        #expect(Identifier.successor(of: "sms_01ABCDEFGH0000000000000009") == "sms_01ABCDEFGH000000000000000A")
    }
}

/// Random bytes from a fixed sequence, continued across calls.
private final class PinnedRandom: RandomSource, @unchecked Sendable {
    private let sequence: [UInt8]
    private var next = 0
    init(_ sequence: [UInt8]) { self.sequence = sequence }
    func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in
            defer { next += 1 }
            return sequence[next % sequence.count]
        }
    }
}

@Suite("Identifiers and random strings, pinned")
struct PinnedIdentifierTests {
    @Test("An identifier is the time in Crockford base32, most significant first, then 16 random characters")
    func identifier() {
        let random = PinnedRandom(Array(0..<32))
        let id = Identifier.make(prefix: "evt", at: Date(timeIntervalSince1970: 1_800_000_000.123), random: random)
        #expect(id == "evt_01MCC5RM3V0123456789ABCDEF")
        #expect(Identifier.make(prefix: "x", at: Date(timeIntervalSince1970: -5), random: random) == "x_00000000000123456789ABCDEF")
    }

    @Test("A random string rejects the bytes past the last whole alphabet (no modulo bias), by characters and by bytes alike")
    func rejection() {
        let sequence: [UInt8] = [250, 0, 61, 62, 255, 1, 247, 248, 123]
        #expect(PinnedRandom(sequence).string(count: 5, alphabet: Base62.alphabet) == "0z01z")
        #expect(PinnedRandom(sequence).string(count: 5, ascii: Base62.ascii) == "0z01z")
        #expect(PinnedRandom([7]).string(count: 3, ascii: Array("abc".utf8)) == "bbb")
    }
}
