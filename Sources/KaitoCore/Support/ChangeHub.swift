import Foundation
import NIOConcurrencyHelpers

/// Wakes long-polls in this process when something they wait for may have changed. Storage publishes here after a
/// commit (SQLite), or from its LISTEN connection when any server's transaction that ran `NOTIFY` commits
/// (PostgreSQL), so a waiter on any server wakes within milliseconds. A wake-up is only a hint: the waiter reads the
/// database again, so a lost or extra notification costs a query, never a wrong answer.
public final class ChangeHub: Sendable {
    private let subscribers = NIOLockedValueBox<[String: [ObjectIdentifier: Subscription]]>([:])
    private let observers = NIOLockedValueBox<[String: [@Sendable () -> Void]]>([:])

    public init() {}

    /// Calls `handler` on every publication of `topic`, synchronously, before `publish` returns (caches empty
    /// themselves there, so that the request after a change's commit never sees the old value).
    public func observe(_ topic: String, _ handler: @escaping @Sendable () -> Void) {
        observers.withLockedValue { $0[topic, default: []].append(handler) }
    }

    /// A subscription to `topic`. Subscribe before reading the database, then wait: a change published between
    /// the read and the wait is kept and ends the next wait at once.
    public func subscribe(_ topic: String) -> Subscription {
        let subscription = Subscription(topic: topic, hub: self)
        subscribers.withLockedValue { $0[topic, default: [:]][ObjectIdentifier(subscription)] = subscription }
        return subscription
    }

    /// Wakes every subscriber of `topic` in this process.
    public func publish(_ topic: String) {
        for handler in observers.withLockedValue({ $0[topic] ?? [] }) { handler() }
        let woken = subscribers.withLockedValue { Array(($0[topic] ?? [:]).values) }
        for subscription in woken { subscription.wake() }
    }

    /// How many subscriptions are open (for tests and metrics).
    public var subscriberCount: Int { subscribers.withLockedValue { $0.values.reduce(0) { $0 + $1.count } } }

    /// How many subscriptions to `topic` are open.
    public func subscriberCount(topic: String) -> Int { subscribers.withLockedValue { $0[topic]?.count ?? 0 } }

    /// How many subscriptions to `topic` are parked in `wait` now: a long-poll counts once it has read the database,
    /// found nothing and waits (a test waits for this before it sends what the poll waits for).
    public func waiterCount(topic: String) -> Int {
        subscribers.withLockedValue { Array(($0[topic] ?? [:]).values) }.filter(\.isWaiting).count
    }

    fileprivate func remove(_ subscription: Subscription) {
        subscribers.withLockedValue { all in
            all[subscription.topic]?[ObjectIdentifier(subscription)] = nil
            if all[subscription.topic]?.isEmpty == true { all[subscription.topic] = nil }
        }
    }

    public final class Subscription: Sendable {
        let topic: String
        private let hub: ChangeHub
        private struct State {
            var pending = false
            var waiter: (id: UUID, continuation: CheckedContinuation<Bool, Never>)?
        }
        private let state = NIOLockedValueBox(State())

        fileprivate var isWaiting: Bool { state.withLockedValue { $0.waiter != nil } }

        fileprivate init(topic: String, hub: ChangeHub) {
            self.topic = topic
            self.hub = hub
        }

        fileprivate func wake() {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiter else {
                    state.pending = true
                    return nil
                }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: true)
        }

        private func resume(_ id: UUID, with value: Bool) {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: value)
        }

        /// Waits for a wake-up (or one that came since the last wait) until `timeout` passes or the task is
        /// cancelled; returns whether it was woken.
        public func wait(timeout: Duration) async -> Bool {
            let id = UUID()
            let timer = Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.resume(id, with: false)
            }
            defer { timer.cancel() }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    // Decided under the lock: resume now (already woken, or cancelled) or leave the waiter for
                    // `wake`, the timer or cancellation, exactly one of which resumes it.
                    let immediate = state.withLockedValue { state -> Bool? in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        if Task.isCancelled { return false }
                        state.waiter = (id, continuation)
                        return nil
                    }
                    if let immediate { continuation.resume(returning: immediate) }
                }
            } onCancel: {
                resume(id, with: false)
            }
        }

        /// Ends the subscription.
        public func cancel() { hub.remove(self) }
    }
}
