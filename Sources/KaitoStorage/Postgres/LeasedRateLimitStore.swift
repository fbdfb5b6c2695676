import KaitoCore
import NIOConcurrencyHelpers

/// Shared GCRA state on PostgreSQL without a database statement per request: a server takes a key's units from the
/// shared state a few at a time (one statement for `leaseSize` of them) and admits from what it took, for at most
/// `leaseLifetime`. Units are taken from the shared state before they are used, so the servers together never admit
/// more than the shared state allows at the moments they take them. What that leaves, stated in the README:
/// - a key's limit holds exactly while it allows fewer than 1,000 requests a minute (one unit at a time);
/// - above that a server takes `limit / 1,000` units at once (at most 64; one request takes them while the others
///   wait for it) and may use them up to a second later: in any one window each server may admit that many more
///   than the limit. Units it took but did not use in the second are lost to every server (they count as used).
/// When a lease cannot be taken whole, a single unit is asked for, so a key at its limit is refused exactly.
final class LeasedRateLimitStore: RateLimitStore {
    private struct Lease {
        var units = 0
        /// The shared TAT after the units this lease took.
        var tat: Int64 = 0
        var expires: Int64 = 0
        /// A request is taking a new lease: the others wait for it rather than each take one.
        var fetching = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let shared: PostgresRateLimitStore
    private let leases = NIOLockedValueBox<[String: Lease]>([:])
    /// How long (microseconds) a server may keep units it took.
    static let leaseLifetime: Int64 = 1_000_000

    init(shared: PostgresRateLimitStore) {
        self.shared = shared
    }

    /// Units taken at once under `rule`: one below 1,000 a minute, up to 64.
    static func leaseSize(_ rule: GCRA) -> Int {
        max(1, min(64, rule.limit / 1_000))
    }

    private enum Step {
        case decided(RateLimitDecision)
        case wait
        case fetch
    }

    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        let size = Self.leaseSize(rule)
        guard size > 1 else { return try await shared.acquire(keyID: keyID, group: group, rule: rule, now: now, units: 1) }
        let name = keyID + "|" + group.rawValue
        while true {
            let step = leases.withLockedValue { leases -> Step in
                if leases.count > 10_000 { leases = leases.filter { $0.value.expires > now || $0.value.fetching } }
                var lease = leases[name] ?? Lease()
                if lease.units > 0, lease.expires > now {
                    lease.units -= 1
                    leases[name] = lease
                    return .decided(Self.admitted(rule, leaseTAT: lease.tat, left: lease.units, now: now))
                }
                if lease.fetching { return .wait }
                lease.fetching = true
                leases[name] = lease
                return .fetch
            }
            switch step {
            case .decided(let decision):
                return decision
            case .wait:
                await withCheckedContinuation { continuation in
                    let waiting = leases.withLockedValue { leases -> Bool in
                        guard leases[name]?.fetching == true else { return false }
                        leases[name]?.waiters.append(continuation)
                        return true
                    }
                    if !waiting { continuation.resume() }
                }
            case .fetch:
                let taken: RateLimitDecision
                do {
                    taken = try await shared.acquire(keyID: keyID, group: group, rule: rule, now: now, units: size)
                } catch {
                    finishFetch(name, lease: nil)
                    throw error
                }
                guard taken.allowed else {
                    finishFetch(name, lease: nil)
                    // Not a whole lease left: one unit, exactly as the shared state decides.
                    return try await shared.acquire(keyID: keyID, group: group, rule: rule, now: now, units: 1)
                }
                finishFetch(name, lease: (size - 1, taken.newTAT, now + Self.leaseLifetime))
                return Self.admitted(rule, leaseTAT: taken.newTAT, left: size - 1, now: now)
            }
        }
    }

    /// A request admitted from a lease whose shared TAT is `leaseTAT` with `left` units still unused: as if the units
    /// were taken one at a time, the unused ones still ahead of this one.
    private static func admitted(_ rule: GCRA, leaseTAT: Int64, left: Int, now: Int64) -> RateLimitDecision {
        rule.admitted(newTAT: max(leaseTAT - rule.interval * Int64(left), now + rule.interval), now: now)
    }

    /// Ends a fetch: stores the lease taken (if any) and wakes the requests that waited for it.
    private func finishFetch(_ name: String, lease taken: (units: Int, tat: Int64, expires: Int64)?) {
        let waiters = leases.withLockedValue { leases -> [CheckedContinuation<Void, Never>] in
            var lease = leases[name] ?? Lease()
            if let taken {
                lease.units = taken.units
                lease.tat = taken.tat
                lease.expires = taken.expires
            }
            lease.fetching = false
            let waiters = lease.waiters
            lease.waiters = []
            leases[name] = lease
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        try await shared.peek(keyID: keyID, group: group, rule: rule, now: now)
    }
}
