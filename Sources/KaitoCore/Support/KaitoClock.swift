import Foundation

/// The source of the current time: injected everywhere time matters (TOTP, expiry, `min_valid` waits),
/// so that tests pin it and never sleep.
public protocol KaitoClock: Sendable {
    /// The current time.
    func now() -> Date
    /// Suspends until `deadline`. Throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Date) async throws
}

/// The wall clock of the machine.
public struct SystemClock: KaitoClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(until deadline: Date) async throws {
        // At most a year at a time, so that a far-off (or infinite) deadline cannot overflow the nanoseconds.
        let interval = min(deadline.timeIntervalSinceNow, 365 * 86_400)
        if interval > 0 {
            try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
        }
    }
}
