import Foundation
import Testing
@testable import KaitoCore

/// What a hostile receiver or registrant can hand the webhook domain: `Retry-After` values, addresses, URLs and the
/// times they turn into. The HTTP side of the same attacks is in KaitoHTTPTests' suite of the same name.
@Suite("Hostile webhook input (pure)")
struct HostileWebhookInputTests {
    /// 2026-11-28T23:56:05Z, a Saturday.
    static let now = Date(timeIntervalSince1970: 1_795_910_165)

    @Test("Retry-After: delta-seconds and HTTP-dates are read, capped at 24 hours; everything else is ignored", arguments: [
        ("120", 120.0), ("0", 0), ("  5", 5), ("5\t", 5), ("0000000000000000000000005", 5), ("86400", 86_400), ("86401", 86_400),
        ("99999999999999999999999", RetryAfter.maximum), ("9223372036854775808", RetryAfter.maximum),
        ("Sat, 28 Nov 2026 23:58:05 GMT", 120), ("Saturday, 28-Nov-26 23:58:05 GMT", 120), ("Sat Nov 28 23:58:05 2026", 120),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0), ("Sunday, 06-Nov-94 08:49:37 GMT", 0), ("Sun Nov  6 08:49:37 1994", 0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RetryAfter.maximum),
    ] as [(String, TimeInterval)])
    func retryAfterRead(value: String, seconds: TimeInterval) {
        #expect(RetryAfter.parse(value, now: Self.now) == seconds, "\(value)")
    }

    @Test("Retry-After: numbers that are not delta-seconds, and garbage, are no Retry-After at all", arguments: [
        "1e20", "inf", "-inf", "infinity", "nan", "NaN", "-1", "-5", "+5", "", " ", "5.5", "1,5", "5 5", "0x10", "٥", "５",
        "Sat, 31 Feb 2026 00:00:00 GMT", "Sat, 28 Nov 2026 23:58:05 UTC", "Sat, 28 Nov 2026 25:00:00 GMT",
        "Sat, 28 Nov 26 23:58:05 GMT", "Xyz, 28 Nov 2026 23:58:05 GMT", "Sat, 28 Foo 2026 23:58:05 GMT", "2026-11-28T23:58:05Z",
        "Saturday, 28-Nov-2026 23:58:05 GMT", "Sat Nov 28 23:58:05 26", String(repeating: "9", count: 100), "120\r\nX-Evil: 1",
    ])
    func retryAfterIgnored(value: String) {
        #expect(RetryAfter.parse(value, now: Self.now) == nil, "\(value)")
    }

    @Test("The retry schedule takes at most 24 hours from a receiver, and never a non-finite delay", arguments: [
        1e20, .infinity, -.infinity, .nan, -5, Double.greatestFiniteMagnitude, 86_400 * 365,
    ])
    func retryScheduleCapped(retryAfter: TimeInterval) throws {
        let next = try #require(WebhookRetryPolicy.nextAttempt(after: 1, at: Self.now, retryAfter: retryAfter, jitter: 0))
        let delay = next.timeIntervalSince(Self.now)
        #expect(delay >= 5 && delay <= RetryAfter.maximum, "\(retryAfter) gave \(delay)")
    }

    /// Seconds since 1970 rather than dates: describing a non-finite `Date` traps in Foundation itself.
    @Test("Every time becomes storable Unix seconds without trapping", arguments: [
        (Date.distantFuture.timeIntervalSince1970, 64_092_211_200), (253_402_300_800, Timestamp.storableSeconds.upperBound),
        (Date.distantPast.timeIntervalSince1970, Timestamp.storableSeconds.lowerBound),
        (1e20, Timestamp.storableSeconds.upperBound), (-1e20, Timestamp.storableSeconds.lowerBound),
        (.infinity, Timestamp.storableSeconds.upperBound), (-.infinity, Timestamp.storableSeconds.lowerBound),
        (.nan, 0), (1_795_910_165.9, 1_795_910_165), (-0.5, -1),
    ] as [(TimeInterval, Int64)])
    func unixSeconds(since1970: TimeInterval, seconds: Int64) {
        let date = Date(timeIntervalSince1970: since1970)
        #expect(Timestamp.unixSeconds(date) == seconds)
        #expect(!Timestamp.format(date).isEmpty)
        _ = Identifier.make(prefix: "msg", at: date, random: SystemRandomSource())
        _ = TOTP.counter(at: date, period: 30)
    }
}
