import Foundation
import KaitoCore
import NIOConcurrencyHelpers

/// A clock that stands still until a test moves it; `sleep(until:)` jumps to the deadline instead of waiting.
public final class ManualClock: KaitoClock {
    private let current: NIOLockedValueBox<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.current = NIOLockedValueBox(start)
    }

    public func now() -> Date { current.withLockedValue { $0 } }

    public func set(_ date: Date) { current.withLockedValue { $0 = date } }

    public func advance(by seconds: TimeInterval) { current.withLockedValue { $0 += seconds } }

    public func sleep(until deadline: Date) async throws {
        current.withLockedValue { $0 = max($0, deadline) }
    }
}
