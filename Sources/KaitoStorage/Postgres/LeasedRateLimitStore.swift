import KaitoCore

/// Shared GCRA state on PostgreSQL without a database statement per request: a server takes a key's units from the
/// shared state a few at a time (one statement for `leaseSize` of them) and admits from what it took, for at most
/// `leaseLifetime`. Units are taken from the shared state before they are used, so the servers together never admit
/// more than the shared state allows at the moments they take them. What that leaves, stated in the README:
/// - a key's limit holds exactly while it allows fewer than 1,000 requests a minute (one unit at a time);
/// - above that a server takes `limit / 1,000` units at once (at most 64), and may use them up to a second later, so
///   in any one window each server may admit that many more than the limit, and units it took but did not use in
///   the second are lost to every server (they count as used).
/// When a lease cannot be taken whole, a single unit is asked for, so a key at its limit is refused exactly.
final class LeasedRateLimitStore: RateLimitStore {
    private struct Lease {
        var units: Int
        /// The shared TAT after the units this lease took.
        var tat: Int64
        var expires: Int64
    }

    private let shared: PostgresRateLimitStore
    private let leases = Locked<[String: Lease]>([:])
    /// How long (microseconds) a server may keep units it took.
    static let leaseLifetime: Int64 = 1_000_000

    init(shared: PostgresRateLimitStore) {
        self.shared = shared
    }

    /// Units taken at once under `rule`: one below 1,000 a minute, up to 64.
    static func leaseSize(_ rule: GCRA) -> Int {
        max(1, min(64, rule.limit / 1_000))
    }

    func acquire(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        let name = keyID + "|" + group.rawValue
        if let decision = takeLeased(name, rule: rule, now: now) { return decision }
        let size = Self.leaseSize(rule)
        if size > 1 {
            let taken = try await shared.acquire(keyID: keyID, group: group, rule: rule, now: now, units: size)
            if taken.allowed {
                leases.withLock { leases in
                    if leases.count > 10_000 { leases = leases.filter { $0.value.expires > now } }
                    // Requests that missed together each took a lease: their units add up, none is dropped.
                    if var held = leases[name], held.expires > now {
                        held.units += size - 1
                        held.tat = max(held.tat, taken.newTAT)
                        leases[name] = held
                    } else {
                        leases[name] = Lease(units: size - 1, tat: taken.newTAT, expires: now + Self.leaseLifetime)
                    }
                }
                return rule.admitted(newTAT: max(taken.newTAT - rule.interval * Int64(size - 1), now + rule.interval), now: now)
            }
        }
        return try await shared.acquire(keyID: keyID, group: group, rule: rule, now: now, units: 1)
    }

    func peek(keyID: String, group: RateLimitGroup, rule: GCRA, now: Int64) async throws -> RateLimitDecision {
        try await shared.peek(keyID: keyID, group: group, rule: rule, now: now)
    }

    /// A unit of a lease this server holds, if one is left and still valid.
    private func takeLeased(_ name: String, rule: GCRA, now: Int64) -> RateLimitDecision? {
        leases.withLock { leases in
            guard var lease = leases[name], lease.units > 0, lease.expires > now else { return nil }
            lease.units -= 1
            leases[name] = lease
            // As if the units were taken one at a time: the remaining ones are still ahead of this one.
            return rule.admitted(newTAT: max(lease.tat - rule.interval * Int64(lease.units), now + rule.interval), now: now)
        }
    }
}
