import Foundation

/// RFC 3339 timestamps in UTC with whole seconds (`2026-11-28T23:56:05Z`), as docs/api.md#timestamps writes them.
public enum Timestamp {
    /// The instants Kaito stores and formats: 0001-01-01T00:00:00Z through 9999-12-31T23:59:59Z, in Unix seconds.
    public static let storableSeconds: ClosedRange<Int64> = -62_135_596_800...253_402_300_799

    /// `date` in whole Unix seconds (rounded down), clamped to `storableSeconds`; NaN is the Unix epoch. Never traps,
    /// whatever a computation or a receiver's header made of the date.
    public static func unixSeconds(_ date: Date) -> Int64 {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard !seconds.isNaN else { return 0 }
        if seconds <= Double(storableSeconds.lowerBound) { return storableSeconds.lowerBound }
        if seconds >= Double(storableSeconds.upperBound) { return storableSeconds.upperBound }
        return Int64(seconds)
    }

    public static func format(_ date: Date) -> String {
        let seconds = unixSeconds(date)
        // Years 1970 to 9999 are written here (every audit event's time goes through this); others by Foundation.
        guard (0..<253_402_300_800).contains(seconds) else {
            return Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
        }
        let days = seconds / 86_400
        let second = seconds % 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
        let z = days + 719_468
        let era = z / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var text: [UInt8] = []
        text.reserveCapacity(20)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                text.append(UInt8(48 + (value / divisor) % 10))
                divisor /= 10
            }
        }
        digits(year, 4); text.append(45); digits(month, 2); text.append(45); digits(day, 2); text.append(84)
        digits(second / 3600, 2); text.append(58); digits(second / 60 % 60, 2); text.append(58); digits(second % 60, 2); text.append(90)
        return String(decoding: text, as: UTF8.self)
    }

    /// Parses an RFC 3339 `date-time` (section 5.6): `T` or `t` (or a space, as 5.6 permits), fractional seconds of
    /// any length, `Z`, `z` or a numeric offset up to ±23:59, and a leap second (`:60`, read as the next second).
    /// Nil for anything else, including calendar dates that do not exist (`2026-02-30`).
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 64 else { return nil }
        var index = 0
        func number(_ length: Int) -> Int? {
            guard index + length <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + length] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += length
            return value
        }
        func expect(_ allowed: Set<UInt8>) -> Bool {
            guard index < bytes.count, allowed.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect([45]), let month = number(2), expect([45]), let day = number(2),
            expect([84, 116, 32]), let hour = number(2), expect([58]), let minute = number(2), expect([58]),
            let second = number(2)
        else { return nil }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect([90, 122]) {
            offset = 0
        } else if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
            let sign = bytes[index] == 45 ? -1 : 1
            index += 1
            guard let hours = number(2), expect([58]), let minutes = number(2), hours <= 23, minutes <= 59 else { return nil }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count, (1...12).contains(month), hour <= 23, minute <= 59, second <= 60,
            day >= 1, day <= daysIn(month: month, year: year)
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146097 + dayOfEra - 719468
    }
}
