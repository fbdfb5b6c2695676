import Foundation
import KaitoCore
import SQLKit

/// A stored value this server does not know (a corrupt row, or one a newer version wrote): the request fails with
/// `unavailable` and the column is logged. Never guessed: an unknown algorithm read as SHA-1 would be a wrong code, an
/// unparseable CIDR dropped would widen the key it restricts.
struct CorruptRow: Error {
    let column: String
}

extension SQLRow {
    /// The column's text as a value of `type`.
    /// - Throws: `CorruptRow` when it is not one of the type's values.
    func value<T: RawRepresentable>(_ column: String, as type: T.Type) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: try string(column)) else { throw CorruptRow(column: column) }
        return value
    }

    /// The column's space-separated words, each parsed by `parse`; empty when the column is NULL or empty.
    /// - Throws: `CorruptRow` when a word does not parse (never dropped).
    func words<T>(_ column: String, _ parse: (String) -> T?) throws -> [T] {
        try (optionalString(column) ?? "").split(separator: " ").map { word in
            guard let value = parse(String(word)) else { throw CorruptRow(column: column) }
            return value
        }
    }

    func string(_ column: String) throws -> String { try decode(column: column, as: String.self) }
    func optionalString(_ column: String) throws -> String? { try decode(column: column, as: String?.self) }
    func int(_ column: String) throws -> Int { Int(try decode(column: column, as: Int64.self)) }
    func optionalInt(_ column: String) throws -> Int? { try decode(column: column, as: Int64?.self).map(Int.init) }
    func bytes(_ column: String) throws -> [UInt8] { Array(try decode(column: column, as: Data.self)) }
    func optionalBytes(_ column: String) throws -> [UInt8]? { try decode(column: column, as: Data?.self).map { Array($0) } }
    func date(_ column: String) throws -> Date { Date(timeIntervalSince1970: Double(try decode(column: column, as: Int64.self))) }
    func optionalDate(_ column: String) throws -> Date? {
        try decode(column: column, as: Int64?.self).map { Date(timeIntervalSince1970: Double($0)) }
    }
}

extension Date {
    /// Timestamps are stored as whole Unix seconds (BIGINT) on every database, clamped to years 1 through 9999 so that
    /// no date (a far-future retry, `distantFuture`, infinity) can trap on its way in.
    var storedSeconds: Int64 { Timestamp.unixSeconds(self) }
}
