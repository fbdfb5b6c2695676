import NIOConcurrencyHelpers
import Testing
@testable import KaitoStorage

/// The per-chain turns of a server's audit writers: exclusive, bounded, and never run for a cancelled writer.
@Suite("Chain turns")
struct ChainHeadsTests {
    @Test("Writers of one chain take turns (from the very first turn on), writers of two chains do not wait for each other")
    func exclusive() async throws {
        // A wait longer than the test: however slow the machine, no writer goes ahead without its turn.
        let heads = ChainHeads(takesTurns: true, turnWait: .seconds(60))
        let inside = NIOLockedValueBox<[String: Int]>([:])
        let most = NIOLockedValueBox<[String: Int]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let chain = index.isMultiple(of: 2) ? "org_a" : "org_b"
                group.addTask {
                    try await heads.withTurn(organizationID: chain) {
                        inside.withLockedValue { inside in
                            inside[chain, default: 0] += 1
                            most.withLockedValue { $0[chain] = max($0[chain] ?? 0, inside[chain]!) }
                        }
                        try await Task.sleep(for: .milliseconds(1))
                        inside.withLockedValue { $0[chain, default: 0] -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(most.withLockedValue { $0 } == ["org_a": 1, "org_b": 1])
    }

    @Test("A writer whose turn does not come within the bound goes ahead without it (a cycle the database cannot see stays impossible)")
    func bounded() async throws {
        let heads = ChainHeads(takesTurns: true, turnWait: .seconds(3))
        let holderIn = NIOLockedValueBox(false)
        let release = NIOLockedValueBox(false)
        async let holder: Void = heads.withTurn(organizationID: "org") {
            holderIn.withLockedValue { $0 = true }
            while !release.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        }
        while !holderIn.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        let started = ContinuousClock.now
        let ran = try await heads.withTurn(organizationID: "org") { true }
        let waited = ContinuousClock.now - started
        #expect(ran)
        // At least the bound, and then it goes ahead: the holder lets go only after this writer has run, so a writer
        // that waited for the turn itself would never return. (The upper bound only has to tell "went ahead" from
        // "never": a parallel test run on two cores has taken 3.8 s here for a 0.2 s bound. The bound is 3 s here
        // so that "at once" below stays below it on a loaded machine.)
        #expect(waited >= heads.turnWait && waited < .seconds(30))
        release.withLockedValue { $0 = true }
        try await holder
        // The turn is free again afterwards: the next writer goes at once.
        let again = ContinuousClock.now
        _ = try await heads.withTurn(organizationID: "org") { true }
        #expect(ContinuousClock.now - again < heads.turnWait)
    }

    @Test("A writer cancelled while it waits for its turn writes nothing")
    func cancelled() async throws {
        let heads = ChainHeads(takesTurns: true)
        let release = NIOLockedValueBox(false)
        let holderIn = NIOLockedValueBox(false)
        let holder = Task {
            try await heads.withTurn(organizationID: "org") {
                holderIn.withLockedValue { $0 = true }
                while !release.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            }
        }
        while !holderIn.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
        let ran = NIOLockedValueBox(false)
        let waiter = Task {
            try await heads.withTurn(organizationID: "org") { ran.withLockedValue { $0 = true } }
        }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        release.withLockedValue { $0 = true }
        try await holder.value
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(!ran.withLockedValue { $0 })
    }
}
