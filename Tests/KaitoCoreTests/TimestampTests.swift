import Foundation
import KaitoCore
import Testing

@Suite("RFC 3339 timestamps")
struct TimestampTests {
    @Test("Every RFC 3339 date-time form parses to the same instant", arguments: [
        ("2026-11-28T23:56:05Z", 1_795_910_165.0),
        ("2026-11-28t23:56:05z", 1_795_910_165.0),
        ("2026-11-28 23:56:05Z", 1_795_910_165.0),
        ("2026-11-29T01:56:05+02:00", 1_795_910_165.0),
        ("2026-11-28T18:26:05-05:30", 1_795_910_165.0),
        ("2026-11-28T23:56:05.250Z", 1_795_910_165.25),
        ("2026-11-28T23:56:05.123456789Z", 1_795_910_165.123456789),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2000-02-29T00:00:00Z", 951_782_400.0),
        ("1969-12-31T23:59:59Z", -1.0),
        ("0001-01-01T00:00:00Z", -62_135_596_800.0),
        ("2016-12-31T23:59:60Z", 1_483_228_800.0),
    ])
    func parses(text: String, seconds: Double) throws {
        let date = try #require(Timestamp.parse(text), "\(text)")
        #expect(abs(date.timeIntervalSince1970 - seconds) < 1e-6, "\(text)")
    }

    @Test("Anything else is refused", arguments: [
        "", "2026-11-28", "2026-11-28T23:56:05", "2026-11-28T23:56Z", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T23:60:00Z", "2026-11-28T23:56:05+24:00",
        "2026-11-28T23:56:05.Z", "2026-11-28T23:56:05Z ", " 2026-11-28T23:56:05Z", "+2026-11-28T23:56:05Z",
        "2026-11-28T23:56:05+0200", "２０２６-11-28T23:56:05Z", "null", "0.5",
    ])
    func refuses(text: String) {
        #expect(Timestamp.parse(text) == nil, "\(text)")
    }

    @Test("format writes whole seconds in UTC, and parse reads it back")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_795_910_165.75)
        #expect(Timestamp.format(date) == "2026-11-28T23:56:05Z")
        #expect(Timestamp.parse(Timestamp.format(date)) == Date(timeIntervalSince1970: 1_795_910_165))
    }

    @Test("Formatting writes what Foundation's ISO 8601 style writes, for every kind of date from 1970 to 9999")
    func formatMatchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        var seconds: [Int64] = [0, 59, 60, 86_399, 86_400, 951_782_400, 951_868_799, 951_868_800, 4_107_542_399, 4_107_542_400,
                                1_798_761_599, 253_402_300_799]
        for _ in 0..<5000 { seconds.append(Int64.random(in: 0..<253_402_300_800, using: &generator)) }
        for value in seconds {
            let date = Date(timeIntervalSince1970: Double(value) + 0.75)
            #expect(Timestamp.format(date) == Date(timeIntervalSince1970: Double(value)).formatted(.iso8601), "\(value)")
        }
    }
}
