import KaitoCore
import NIOConcurrencyHelpers

/// The chain states a server last wrote, per organisation, with whether each one's tag was valid when read (then the
/// next link re-tags): guesses that save reading and locking the head, each checked by the statement that moves it.
///
/// Writers take turns per chain (`withTurn`) from reading the guess to their statement's answer: the next one links
/// to the state the one before wrote, its statement waits in the database for that one's commit (the row's lock)
/// and then succeeds, so the head is held by one transaction after another for one round trip each.
final class ChainHeads: Sendable {
    private struct Waiter {
        let ticket: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }
    private struct Chain {
        var remembered: (state: AuditChainState, trusted: Bool)?
        var busy = false
        var waiting: [Waiter] = []
    }
    private struct State {
        var chains: [String: Chain] = [:]
        var tickets: UInt64 = 0
    }
    private let state = NIOLockedValueBox(State())
    /// Whether writers take turns (PostgreSQL's concurrent units); SQLite's one writer runs one unit at a time.
    private let takesTurns: Bool

    /// How long a writer waits for its turn before it goes ahead without it. Turns only save failed guesses (every
    /// move of a head is conditional), and a wait without end could close a cycle PostgreSQL cannot see: a turn's
    /// holder waiting in the database for a transaction that itself waits here for the turn. After this wait the
    /// cycle is all in the database, which detects it and breaks it.
    let turnWait: Duration

    init(takesTurns: Bool, turnWait: Duration = .milliseconds(200)) {
        self.takesTurns = takesTurns
        self.turnWait = turnWait
    }

    subscript(organizationID: String) -> (state: AuditChainState, trusted: Bool)? {
        get { state.withLockedValue { $0.chains[organizationID]?.remembered } }
        set { state.withLockedValue { $0.chains[organizationID, default: Chain()].remembered = newValue } }
    }

    func forgetAll() {
        state.withLockedValue { state in
            for id in state.chains.keys { state.chains[id]?.remembered = nil }
        }
    }

    /// Runs `body` when no other `withTurn` of the chain is running on this server, or after `turnWait` regardless.
    func withTurn<T>(organizationID: String, _ body: () async throws -> T) async throws -> T {
        guard takesTurns else { return try await body() }
        let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ticket = state.withLockedValue { state -> UInt64? in
                guard state.chains[organizationID, default: Chain()].busy else {
                    state.chains[organizationID, default: Chain()].busy = true
                    return nil
                }
                state.tickets += 1
                state.chains[organizationID, default: Chain()].waiting.append(Waiter(ticket: state.tickets, continuation: continuation))
                return state.tickets
            }
            guard let ticket else { return continuation.resume(returning: true) }
            Task { [state, turnWait] in
                try? await Task.sleep(for: turnWait)
                let expired = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                    guard let index = state.chains[organizationID]?.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                    return state.chains[organizationID]?.waiting.remove(at: index).continuation
                }
                expired?.resume(returning: false)
            }
        }
        defer {
            if granted {
                // The turn passes to the next waiter, or the chain is free.
                let next = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
                    guard state.chains[organizationID]?.waiting.isEmpty == false else {
                        state.chains[organizationID]?.busy = false
                        return nil
                    }
                    return state.chains[organizationID]?.waiting.removeFirst().continuation
                }
                next?.resume(returning: true)
            }
        }
        // A writer cancelled while it waited writes nothing (and the next one need not wait for it).
        try Task.checkCancellation()
        return try await body()
    }
}

/// The chains whose head a transaction has moved (and so holds locked until it ends).
final class HeldChains: Sendable {
    private let ids = NIOLockedValueBox<Set<String>>([])
    func insert(_ id: String) { _ = ids.withLockedValue { $0.insert(id) } }
    func contains(_ id: String) -> Bool { ids.withLockedValue { $0.contains(id) } }
}
