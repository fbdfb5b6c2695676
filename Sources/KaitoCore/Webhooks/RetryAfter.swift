import Foundation

/// A receiver's `Retry-After` (RFC 9110 §10.2.3), read as a delay that a hostile receiver cannot abuse.
public enum RetryAfter {
    /// The longest a receiver can push a retry back: 24 hours. A longer (or overflowing) delay counts as this.
    public static let maximum: TimeInterval = 86_400

    /// The delay `value` asks for, in whole seconds within 0...`maximum`, or nil when `value` is neither
    /// delta-seconds (`1*DIGIT`: no sign, fraction or exponent) nor an HTTP-date (IMF-fixdate, or the obsolete RFC 850
    /// and asctime forms). A date in the past is no delay. Surrounding spaces and tabs are dropped, as a field's are.
    public static func parse(_ value: String, now: Date) -> TimeInterval? {
        let text = value.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        if text.utf8.allSatisfy({ (48...57).contains($0) }) {
            // Any number of digits: more than `maximum` (or than Int64 holds) is `maximum`.
            let digits = text.drop { $0 == "0" }
            guard digits.count <= 18, let seconds = Int64(digits.isEmpty ? "0" : String(digits)) else { return maximum }
            return min(TimeInterval(seconds), maximum)
        }
        guard let date = HTTPDate.parse(text, now: now) else { return nil }
        return min(max(0, date.timeIntervalSince(now).rounded(.up)), maximum)
    }
}
