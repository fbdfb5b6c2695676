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
