import Foundation
import KaitoCore
import SQLKit

extension SQLRow {
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
