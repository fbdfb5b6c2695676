import CKaitoSQLite
import Foundation
import KaitoCore
import Logging
import NIOCore
import SQLiteKit
import SQLKit

/// The SQLite writer connection as an `SQLDatabase`, over SQLite's C API, for the repositories (written once with
/// SQLKit for both databases) to run on without a thread hop per statement.
///
/// Every statement runs synchronously on the calling thread, which must be the writer's own event loop thread
/// (`GroupCommit` runs each batch there, with a task-executor preference for it): a unit of work's statements, its
/// audit event and the commit run in one go, with no hand-off between an event loop and a thread pool. Statements are
/// prepared once and kept per SQL text (SQLKit writes the same text for every query of one shape; values are bound).
/// The thread is the writer's alone, so it may block on the disk (the commit's fsync) or, bounded by SQLite's busy
/// timeout, on an operator command's write lock.
///
/// Values are bound and read as sqlite-nio would (text, 64-bit integers, reals, blobs, NULL): rows written by either
/// read back the same.
final class RawSQLiteDatabase: SQLDatabase, @unchecked Sendable {
    /// A failure SQLite reported, with its extended result code.
    struct Error: Swift.Error, CustomStringConvertible {
        let code: Int32
        let message: String
        var description: String { "SQLite error \(code): \(message)" }

        /// SQLITE_CONSTRAINT and its extended codes: the statement failed, the transaction stands.
        var isConstraint: Bool { code & 0xFF == 19 }
        /// SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY.
        var isUniqueViolation: Bool { code == 2067 || code == 1555 }
    }

    let logger: Logger
    let eventLoop: any EventLoop
    var dialect: any SQLDialect { SQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    // Touched only on `eventLoop`'s thread.
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]
    /// Prepared statements kept; past it the cache starts over (the server's queries have far fewer shapes).
    private static let statementCapacity = 512

    /// Opens the database at `path` (already migrated, in WAL mode) on `eventLoop`'s thread.
    static func open(path: String, busyTimeout: Duration, on eventLoop: any EventLoop, logger: Logger) async throws -> RawSQLiteDatabase {
        try await eventLoop.submit {
            var handle: OpaquePointer?
            let opened = sqlite_nio_sqlite3_open_v2(path, &handle, KAITO_SQLITE_OPEN_READWRITE | KAITO_SQLITE_OPEN_CREATE | KAITO_SQLITE_OPEN_NOMUTEX, nil)
            guard opened == KAITO_SQLITE_OK, let handle else {
                if let handle { sqlite_nio_sqlite3_close_v2(handle) }
                throw Error(code: opened, message: "cannot open \(path)")
            }
            let database = RawSQLiteDatabase(handle: handle, eventLoop: eventLoop, logger: logger)
            do {
                sqlite_nio_sqlite3_busy_timeout(handle, Int32(clamping: busyTimeout.wholeMilliseconds))
                // Per connection: every commit is durable before its requests are answered.
                for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON"] {
                    try database.run(pragma, [])
                }
            } catch {
                database.closeNow()
                throw error
            }
            return database
        }.get()
    }

    private init(handle: OpaquePointer, eventLoop: any EventLoop, logger: Logger) {
        self.handle = handle
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Finalizes every statement and closes the connection (on the writer's thread).
    func close() async throws {
        try await eventLoop.submit { self.closeNow() }.get()
    }

    private func closeNow() {
        for statement in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements = [:]
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    // MARK: SQLDatabase

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        do {
            let (sql, binds) = serialize(query)
            try run(sql, binds, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (sql, binds) = serialize(query)
        try run(sql, binds, onRow)
    }

    // MARK: Statements

    /// Runs `sql` with `binds`, calling `onRow` for each row.
    func run(_ sql: String, _ binds: [any Encodable & Sendable], _ onRow: (any SQLRow) -> Void = { _ in }) throws {
        var values: [Value] = []
        values.reserveCapacity(binds.count)
        for bound in binds {
            guard let value = Self.value(of: bound) else { throw Error(code: 20, message: "cannot bind a value of type \(type(of: bound))") }
            values.append(value)
        }
        try run(sql, values: values, onRow)
    }

    /// Runs `sql` with values already in SQLite's types (the appender's statements: no dynamic casts).
    func run(_ sql: String, values: [Value], _ onRow: (any SQLRow) -> Void = { _ in }) throws {
        eventLoop.preconditionInEventLoop()
        try withStatement(sql) { statement in
            for (offset, value) in values.enumerated() { try bind(statement, Int32(offset + 1), value) }
            var columns: [String: Int32]?
            while true {
                let result = sqlite_nio_sqlite3_step(statement)
                if result == KAITO_SQLITE_DONE { return }
                guard result == KAITO_SQLITE_ROW else { throw failure() }
                let names = columns ?? Self.columns(of: statement)
                columns = names
                onRow(Row(columns: names, values: Self.values(of: statement)))
            }
        }
    }

    /// Runs `body` with the prepared statement for `sql`, reset and cleared afterwards (also when it throws).
    func withStatement<T>(_ sql: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard let handle else { throw Error(code: 21, message: "the database is closed") }
        let statement: OpaquePointer
        if let prepared = statements[sql] {
            statement = prepared
        } else {
            var prepared: OpaquePointer?
            var rest = ""
            let result = sql.withCString { text in
                var tail: UnsafePointer<CChar>?
                let result = sqlite_nio_sqlite3_prepare_v3(handle, text, -1, UInt32(KAITO_SQLITE_PREPARE_PERSISTENT), &prepared, &tail)
                if let tail { rest = String(cString: tail) }
                return result
            }
            guard result == KAITO_SQLITE_OK, let prepared else { throw failure() }
            // One statement per call: a second one would silently not run.
            guard rest.allSatisfy({ $0.isWhitespace || $0 == ";" }) else {
                sqlite_nio_sqlite3_finalize(prepared)
                throw Error(code: 1, message: "more than one statement in one call")
            }
            if statements.count >= Self.statementCapacity {
                for old in statements.values { sqlite_nio_sqlite3_finalize(old) }
                statements.removeAll()
            }
            statements[sql] = prepared
            statement = prepared
        }
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
        }
        return try body(statement)
    }

    /// Rows the last statement changed.
    var changes: Int { handle.map { Int(sqlite_nio_sqlite3_changes($0)) } ?? 0 }

    func failure() -> Error {
        guard let handle else { return Error(code: 21, message: "the database is closed") }
        return Error(code: sqlite_nio_sqlite3_extended_errcode(handle), message: String(cString: sqlite_nio_sqlite3_errmsg(handle)))
    }

    // MARK: Values

    /// What a column holds.
    enum Value: Sendable {
        case integer(Int64)
        case real(Double)
        case text(String)
        case blob([UInt8])
        case null

        /// Text, or NULL for nil.
        static func text(_ text: String?) -> Value { text.map { .text($0) } ?? .null }
    }

    func bind(_ statement: OpaquePointer, _ index: Int32, _ value: Value) throws {
        let result: Int32
        switch value {
        case .integer(let integer): result = sqlite_nio_sqlite3_bind_int64(statement, index, integer)
        case .real(let real): result = sqlite_nio_sqlite3_bind_double(statement, index, real)
        case .null: result = sqlite_nio_sqlite3_bind_null(statement, index)
        case .text(let text):
            // An empty buffer may have no address, which SQLite would bind as NULL.
            var text = text
            result = text.isEmpty ? kaito_sqlite_bind_text(statement, index, "", 0) : text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { kaito_sqlite_bind_text(statement, index, $0.baseAddress, Int32(bytes.count)) }
            }
        case .blob(let bytes):
            result = bytes.withUnsafeBytes { buffer in
                kaito_sqlite_bind_blob(statement, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buffer.count))
            }
        }
        guard result == KAITO_SQLITE_OK else { throw failure() }
    }

    /// The column value of a bound Swift value, for the types the repositories bind; nil for any other.
    static func value(of bound: Any) -> Value? {
        // Concrete types first (a cast from `Any` looks through an Optional that holds a value); the existential cast
        // to `OptionalValue`, the costly one, only for what is left: nil.
        switch bound {
        case let text as String: return .text(text)
        case let integer as Int: return .integer(Int64(integer))
        case let integer as Int64: return .integer(integer)
        case let integer as Int32: return .integer(Int64(integer))
        case let real as Double: return .real(real)
        case let flag as Bool: return .integer(flag ? 1 : 0)
        case let data as Data: return .blob(Array(data))
        case let bytes as [UInt8]: return .blob(bytes)
        case let optional as any OptionalValue: return optional.isNone ? .null : optional.wrappedValue.flatMap(value(of:))
        default: return nil
        }
    }

    private static func columns(of statement: OpaquePointer) -> [String: Int32] {
        let count = sqlite_nio_sqlite3_column_count(statement)
        var columns: [String: Int32] = [:]
        for index in 0..<count {
            guard let name = sqlite_nio_sqlite3_column_name(statement, index) else { continue }
            columns[String(cString: name)] = index
        }
        return columns
    }

    private static func values(of statement: OpaquePointer) -> [Value] {
        (0..<sqlite_nio_sqlite3_column_count(statement)).map { index in
            switch sqlite_nio_sqlite3_column_type(statement, index) {
            case 1: return .integer(sqlite_nio_sqlite3_column_int64(statement, index))
            case 2: return .real(sqlite_nio_sqlite3_column_double(statement, index))
            case 3:
                guard let text = sqlite_nio_sqlite3_column_text(statement, index) else { return .text("") }
                return .text(String(cString: text))
            case 4:
                let count = Int(sqlite_nio_sqlite3_column_bytes(statement, index))
                guard count > 0, let bytes = sqlite_nio_sqlite3_column_blob(statement, index) else { return .blob([]) }
                return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
            default: return .null
            }
        }
    }

    /// One row, decoded as sqlite-nio's rows decode the types the repositories read.
    struct Row: SQLRow {
        let columns: [String: Int32]
        let values: [Value]

        var allColumns: [String] { columns.sorted { $0.value < $1.value }.map(\.key) }

        func contains(column: String) -> Bool { columns[column] != nil }

        func decodeNil(column: String) throws -> Bool {
            guard case .null = try value(column) else { return false }
            return true
        }

        func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
            let value = try value(column)
            if let optional = D.self as? any OptionalValue.Type {
                if case .null = value { return optional.nothing as! D }
                return try optional.wrapping(Self.decode(value, as: optional.wrappedType, column: column)) as! D
            }
            return try Self.decode(value, as: D.self, column: column) as! D
        }

        private func value(_ column: String) throws -> Value {
            guard let index = columns[column], Int(index) < values.count else {
                throw DecodingError.keyNotFound(SQLCodingKey(column), .init(codingPath: [], debugDescription: "no column \(column)"))
            }
            return values[Int(index)]
        }

        private static func decode(_ value: Value, as type: Any.Type, column: String) throws -> Any {
            switch (value, type) {
            case (.text(let text), is String.Type): return text
            case (.integer(let integer), is Int64.Type): return integer
            case (.integer(let integer), is Int.Type): return Int(integer)
            case (.integer(let integer), is Int32.Type): return Int32(clamping: integer)
            case (.integer(let integer), is Double.Type): return Double(integer)
            case (.integer(let integer), is Bool.Type): return integer != 0
            case (.real(let real), is Double.Type): return real
            case (.blob(let bytes), is Data.Type): return Data(bytes)
            case (.blob(let bytes), is [UInt8].Type): return bytes
            case (.text(let text), is Data.Type): return Data(text.utf8)
            default:
                throw DecodingError.typeMismatch(type, .init(codingPath: [SQLCodingKey(column)], debugDescription: "column \(column) holds \(value)"))
            }
        }
    }

    private struct SQLCodingKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { self.stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Lets a bound or decoded `Optional` be looked through without knowing its wrapped type.
protocol OptionalValue {
    var isNone: Bool { get }
    var wrappedValue: Any? { get }
    static var wrappedType: Any.Type { get }
    static var nothing: Self { get }
    static func wrapping(_ value: Any) -> Self
}

extension Optional: OptionalValue {
    var isNone: Bool { self == nil }
    var wrappedValue: Any? {
        guard case .some(let value) = self else { return nil }
        return value
    }
    static var wrappedType: Any.Type { Wrapped.self }
    static var nothing: Self { nil }
    static func wrapping(_ value: Any) -> Self { value as? Wrapped }
}
