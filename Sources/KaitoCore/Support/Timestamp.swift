import Foundation

/// RFC 3339 timestamps in UTC with whole seconds (`2026-11-28T23:56:05Z`), as API.md §1 writes them.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        Date(timeIntervalSince1970: floor(date.timeIntervalSince1970)).formatted(.iso8601)
    }

    /// Parses RFC 3339 with or without fractional seconds and with any offset.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
