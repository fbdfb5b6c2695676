import Foundation
@testable import KaitoCore
import Testing

/// `DenialFolding` on its own: what a failed write leaves behind.
@Suite("Denial folding keeps what a failed write took")
struct DenialFoldingUnitTests {
    static let key = APIKey(
        id: "key_1", organizationID: "org_1", name: "k", hint: "kto_live_abcd", hash: [], scopes: [.tokensRead],
        createdAt: Date(timeIntervalSince1970: 0), createdBy: "operator")

    @Test("A first denial whose event could not be written is counted with its minute's repeats; taken repeats come back")
    func restoredAfterFailure() {
        let folding = DenialFolding()
        #expect(folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 10))
        #expect(!folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 10))
        // The write of the first failed: it becomes one more repeat of minute 10.
        folding.restore([], firstOf: Self.key, reason: "invalid_key", minute: 10)
        let taken = folding.takeEnded(before: 11)
        #expect(taken.map(\.count) == [2])
        // Those repeats' write failed too: they come back with the next ones, nothing lost, nothing doubled.
        folding.restore(taken, firstOf: nil, reason: "", minute: 0)
        #expect(folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 12))
        #expect(!folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 12))
        let next = folding.takeEnded(before: nil)
        #expect(next.map(\.count) == [2, 1])
        #expect(folding.takeEnded(before: nil).isEmpty)
    }

    @Test("A fold's minute not yet taken when the next minute's first denial comes is kept for writing")
    func minuteNotYetTaken() {
        let folding = DenialFolding()
        _ = folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 1)
        _ = folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 1)
        #expect(folding.admit(key: Self.key, reason: "invalid_key", target: nil, ip: nil, origin: RequestOrigin(), minute: 2))
        #expect(folding.takeEnded(before: 2).map(\.count) == [1])
    }
}
