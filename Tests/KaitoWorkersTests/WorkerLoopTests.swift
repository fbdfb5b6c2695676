import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing
@testable import KaitoWorkers

/// The run loop every worker shares: steps, idling, failures, and a graceful shutdown.
@Suite("Worker loop")
struct WorkerLoopTests {
    /// Log lines, kept for the test to read.
    final class Lines: Sendable {
        let lines = NIOLockedValueBox<[(Logger.Level, String, Logger.Metadata)]>([])
        var all: [(Logger.Level, String, Logger.Metadata)] { lines.withLockedValue { $0 } }
    }

    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.lines.withLockedValue { $0.append((event.level, "\(event.message)", event.metadata ?? [:])) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String { "secret-value-that-must-not-be-logged" }
    }

    @Test("A step that found work is followed at once; after one that found none, the loop idles; cancellation ends it")
    func stepsAndIdling() async throws {
        let events = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "test")
        let task = Task {
            try await WorkerLoop.repeating(logger: logger, failure: "failed") {
                events.withLockedValue { $0.append("idle") }
                if events.withLockedValue({ $0.count }) >= 6 { withUnsafeCurrentTask { $0?.cancel() } }
                try await Task.sleep(for: .milliseconds(1))
            } _: {
                let steps = events.withLockedValue { events in
                    events.append("step")
                    return events.filter { $0 == "step" }.count
                }
                // Work in the first two steps, none after.
                return steps <= 2
            }
        }
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(events.withLockedValue { $0 }.prefix(6) == ["step", "step", "step", "idle", "step", "idle"])
    }

    @Test("A failing step is logged by its error's type only (never its text) and counts as having found nothing")
    func failureLogged() async throws {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in Capture(lines: lines) }
        let idles = NIOLockedValueBox(0)
        let task = Task {
            try await WorkerLoop.repeating(logger: logger, failure: "dispatch failed") {
                if idles.withLockedValue({ $0 += 1; return $0 }) >= 2 { withUnsafeCurrentTask { $0?.cancel() } }
                try await Task.sleep(for: .milliseconds(1))
            } _: {
                throw Failure()
            }
        }
        _ = await task.result
        let logged = lines.all
        #expect(logged.count >= 2)
        #expect(logged.allSatisfy { $0.0 == .error && $0.1 == "dispatch failed" })
        #expect(logged.allSatisfy { "\($0.2)".contains("Failure") && !"\($0.2)".contains("secret-value") })
        #expect(idles.withLockedValue { $0 } >= 2)
    }

    /// A service that runs the loop, as the workers do.
    struct Looping: Service {
        let steps: NIOLockedValueBox<Int>
        func run() async throws {
            try await WorkerLoop.untilShutdown {
                try await WorkerLoop.repeating(logger: Logger(label: "test"), failure: "failed") {
                    try await Task.sleep(for: .milliseconds(5))
                } _: {
                    steps.withLockedValue { $0 += 1 }
                    return false
                }
            }
        }
    }

    @Test("A graceful shutdown ends the loop as a clean stop, not a failure of the service")
    func gracefulShutdown() async throws {
        let steps = NIOLockedValueBox(0)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: Looping(steps: steps))], logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            while steps.withLockedValue({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
            await group.triggerGracefulShutdown()
            // `run()` returns without an error: the service ended cleanly.
            try await tasks.next()
        }
        #expect(steps.withLockedValue { $0 } >= 3)
    }
}
