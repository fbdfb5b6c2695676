import Foundation
import KaitoCore
import NIOConcurrencyHelpers
import Testing

/// `Deadline.run`: the caller never waits past the deadline, even on work that ignores cancellation.
@Suite("Deadlines on waits")
struct DeadlineTests {
    struct Gone: Error {}

    @Test("A result within the deadline is returned; an error is thrown as it is")
    func withinDeadline() async throws {
        #expect(try await Deadline.run(.seconds(5)) { 42 } == 42)
        await #expect(throws: Gone.self) { try await Deadline.run(.seconds(5)) { throw Gone() } }
    }

    @Test("Work that ignores cancellation does not hold the caller past the deadline")
    func uncooperativeWork() async throws {
        let start = ContinuousClock.now
        await #expect(throws: Gone.self) {
            try await Deadline.run(.milliseconds(200), timedOut: { Gone() }) {
                // Waits on, cancelled or not (a wait a driver does not let go of), without spinning.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 30) { done.resume() }
                }
                return 1
            }
        }
        // Far below the work's 30 s, with room for a loaded machine.
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("Cooperative work is cancelled at the deadline; the default error is Exceeded")
    func cancelled() async throws {
        let cancelled = NIOLockedValueBox(false)
        await #expect(throws: Deadline.Exceeded.self) {
            try await Deadline.run(.milliseconds(100)) {
                do { try await Task.sleep(for: .seconds(10)) } catch { cancelled.withLockedValue { $0 = true } }
                return 0
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(cancelled.withLockedValue { $0 })
    }

    @Test("Many racing at the edge of their deadline each resume exactly once")
    func racing() async throws {
        let results = await withTaskGroup(of: Int.self) { group in
            for index in 0..<200 {
                group.addTask {
                    (try? await Deadline.run(.milliseconds(10)) {
                        try await Task.sleep(for: .milliseconds(Int64(index % 20)))
                        return 1
                    }) ?? 0
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.count == 200)
    }
}
