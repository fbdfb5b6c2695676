import Foundation

/// A condition a test waited for did not come about in time.
public struct ConditionTimedOut: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "timed out waiting until \(what)" }
}

/// Returns as soon as `condition` holds, checking it every few milliseconds; throws `ConditionTimedOut` after
/// `timeout`. What a test waits for (a long-poll that has begun waiting, a load that has run) instead of a sleep
/// that guesses how long it takes.
public func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimedOut(what: what) }
        try await Task.sleep(for: .milliseconds(2))
    }
}
