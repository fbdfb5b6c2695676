import Foundation
import KaitoCore

/// A clock that stands still until a test moves it; `sleep(until:)` jumps to the deadline instead of waiting.
public final class ManualClock: KaitoClock {
    private let current: Locked<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.current = Locked(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func set(_ date: Date) { current.withLock { $0 = date } }

    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }

    public func sleep(until deadline: Date) async throws {
        current.withLock { $0 = max($0, deadline) }
    }
}
