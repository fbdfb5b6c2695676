import Foundation

/// HTTP-date (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete `Sunday, 06-Nov-94 08:49:37 GMT`
/// and `Sun Nov  6 08:49:37 1994`, all in GMT.
enum HTTPDate {
    static let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    static let longDays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The instant `text` names, or nil when it is not an HTTP-date of a calendar day that exists. A two-digit RFC 850
    /// year is the one within 50 years of `now`'s, as §5.6.7 asks.
    static func parse(_ text: String, now: Date) -> Date? {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count == 6, words[0].hasSuffix(","), days.contains(String(words[0].dropLast())), words[5] == "GMT",
           words[1].count == 2, words[3].count == 4 {
            // IMF-fixdate: day-name "," SP 2DIGIT SP month SP 4DIGIT SP time SP "GMT"
            return date(day: words[1], month: words[2], year: Int(digits: words[3]), time: words[4])
        }
        if words.count == 4, words[0].hasSuffix(","), longDays.contains(String(words[0].dropLast())), words[3] == "GMT" {
            // RFC 850: day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time SP "GMT"
            let parts = words[1].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, parts[0].count == 2, parts[2].count == 2, let short = Int(digits: parts[2]) else { return nil }
            let currentYear = Int(Timestamp.format(now).prefix(4)) ?? 2000
            var year = currentYear - currentYear % 100 + short
            if year > currentYear + 50 { year -= 100 }
            return date(day: parts[0], month: parts[1], year: year, time: words[2])
        }
        if words.count == 5, days.contains(words[0]), words[4].count == 4, (1...2).contains(words[2].count) {
            // asctime: day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time SP 4DIGIT
            return date(day: words[2], month: words[1], year: Int(digits: words[4]), time: words[3])
        }
        return nil
    }

    static func date(day dayText: String, month monthText: String, year: Int?, time: String) -> Date? {
        let clock = time.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard let year, let month = months.firstIndex(of: monthText).map({ $0 + 1 }), let day = Int(digits: dayText),
              clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
              let hour = Int(digits: clock[0]), let minute = Int(digits: clock[1]), let second = Int(digits: clock[2]),
              hour <= 23, minute <= 59, second <= 60, day >= 1, day <= Timestamp.daysIn(month: month, year: year)
        else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        return Date(timeIntervalSince1970: Double(days * 86_400 + hour * 3600 + minute * 60 + second))
    }
}

extension Int {
    /// ASCII digits only (no sign, no spaces), at most nine of them.
    init?(digits text: String) {
        guard !text.isEmpty, text.utf8.count <= 9, text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(text) else { return nil }
        self = value
    }
}
