/// The generic cell rate algorithm: one "theoretical arrival time" (TAT) per key and group decides every request.
/// A limit of `L` per minute admits a burst of `L` at once, then one request every `60/L` seconds.
/// Times are in microseconds so that every store (memory, SQL) computes the same integers.
public struct GCRA: Sendable, Equatable {
    public let limit: Int
    public let window: Int64 = 60_000_000

    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Microseconds between two admissions at the steady rate.
    public var interval: Int64 { window / Int64(limit) }
    /// How far ahead of now the TAT may run: a burst of `limit` requests.
    public var tolerance: Int64 { interval * Int64(limit - 1) }

    /// The decision for a request at `now` given the stored TAT (nil for a key never seen).
    public func decide(tat stored: Int64?, now: Int64) -> RateLimitDecision {
        let tat = max(stored ?? now, now)
        return tat - now > tolerance ? rejected(tat: tat, now: now) : admitted(newTAT: tat + interval, now: now)
    }

    /// The decision for an admitted request whose new TAT is `newTAT` (as a store computed it atomically).
    public func admitted(newTAT: Int64, now: Int64) -> RateLimitDecision {
        let remaining = Int((now + tolerance + interval - newTAT) / interval)
        return RateLimitDecision(allowed: true, limit: limit, remaining: max(0, remaining), retryAfter: 0, resetAfter: newTAT - now, newTAT: newTAT)
    }

    /// The decision for a refused request while the stored TAT is `tat`.
    public func rejected(tat: Int64, now: Int64) -> RateLimitDecision {
        RateLimitDecision(allowed: false, limit: limit, remaining: 0, retryAfter: max(1, tat - now - tolerance), resetAfter: max(0, tat - now), newTAT: tat)
    }

    /// The standing at `now` without consuming anything (for `GET /v1/keys/self`).
    public func peek(tat stored: Int64?, now: Int64) -> RateLimitDecision {
        let tat = max(stored ?? now, now)
        let remaining = Int((now + tolerance + interval - tat) / interval)
        return RateLimitDecision(allowed: remaining > 0, limit: limit, remaining: max(0, min(limit, remaining)), retryAfter: 0, resetAfter: tat - now, newTAT: tat)
    }
}

/// What a rate-limit check decided, with everything the response headers need.
public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int
    public var remaining: Int
    /// Microseconds until a request would be admitted (0 when allowed).
    public var retryAfter: Int64
    /// Microseconds until the bucket is full again.
    public var resetAfter: Int64
    /// The TAT to store.
    public var newTAT: Int64

    /// Whole seconds, rounded up: never tells a client to come back before it would be admitted.
    public static func seconds(_ micros: Int64) -> Int { Int((micros + 999_999) / 1_000_000) }
}
