import GRDB
import GRDBSQLite
import Foundation

/// Binds and steps a statement that GRDB prepared and caches, through the
/// SQLite C API.
///
/// Why: ingest executes several statements per record, and GRDB's
/// `StatementArguments` box every value into an existential; measured on
/// the target machine, binding directly doubles the writer's throughput.
/// GRDB still owns the statement (preparation, caching, finalisation).
struct SQLiteRawStatement {
    private let statement: OpaquePointer
    private let connection: OpaquePointer?
    /// What a failure says was being done.
    private let operation: String
    /// SQLITE_TRANSIENT: SQLite copies the bytes before the bind returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ sql: String, db: Database, operation: String = "ingest") throws {
        statement = try db.cachedStatement(sql: sql).sqliteStatement
        connection = db.sqliteConnection
        self.operation = operation
    }

    /// Resets the statement; every parameter is bound again before the next run.
    func reset() {
        sqlite3_reset(statement)
    }

    func bind(_ index: Int32, _ value: String?) {
        guard var value else { sqlite3_bind_null(statement, index); return }
        value.withUTF8 { p in
            if let base = p.baseAddress, p.count > 0 {
                _ = sqlite3_bind_text(statement, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                                      Int32(p.count), Self.transient)
            } else {
                _ = sqlite3_bind_text(statement, index, "", 0, Self.transient)
            }
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_int64(statement, index, value)
    }

    func bind(_ index: Int32, bytes: [UInt8]) {
        bytes.withUnsafeBytes { p in
            if let base = p.baseAddress, p.count > 0 {
                _ = sqlite3_bind_blob(statement, index, base, Int32(p.count), Self.transient)
            } else {
                _ = sqlite3_bind_zeroblob(statement, index, 0)
            }
        }
    }

    /// Binds `value` without copying it and runs `body` (which steps the
    /// statement) while the bytes are still valid: for the hot inserts,
    /// where SQLITE_TRANSIENT's copy of every value was measurable. The
    /// parameter is bound to NULL afterwards, so the statement never keeps
    /// a pointer to memory that is gone.
    func withBound<R>(_ index: Int32, _ value: String, _ body: () throws -> R) rethrows -> R {
        var value = value
        defer { sqlite3_bind_null(statement, index) }
        return try value.withUTF8 { p in
            if let base = p.baseAddress, p.count > 0 {
                _ = sqlite3_bind_text(statement, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(p.count), nil)
            } else {
                _ = sqlite3_bind_text(statement, index, "", 0, Self.transient)
            }
            return try body()
        }
    }

    /// Binds `bytes` without copying them and runs `body` while they are valid.
    func withBound<R>(_ index: Int32, bytes: [UInt8], _ body: () throws -> R) rethrows -> R {
        defer { sqlite3_bind_null(statement, index) }
        return try bytes.withUnsafeBytes { p in
            if let base = p.baseAddress, p.count > 0 {
                _ = sqlite3_bind_blob(statement, index, base, Int32(p.count), nil)
            } else {
                _ = sqlite3_bind_zeroblob(statement, index, 0)
            }
            return try body()
        }
    }

    /// Runs the statement to completion (for INSERT/UPDATE/DELETE).
    func run() throws {
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw failure(code) }
        sqlite3_reset(statement)
    }

    /// Steps once; true when a row is available.
    func step() throws -> Bool {
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return true }
        guard code == SQLITE_DONE else { throw failure(code) }
        return false
    }

    func text(_ column: Int32) -> String? {
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let p = sqlite3_column_text(statement, column) else { return nil }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: count), as: UTF8.self)
    }

    /// Whether the column holds exactly `bytes` (compared in place, not copied).
    func bytes(_ column: Int32, equal bytes: [UInt8]) -> Bool {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count == bytes.count else { return false }
        guard count > 0 else { return true }
        guard let p = sqlite3_column_blob(statement, column) else { return false }
        return bytes.withUnsafeBytes { memcmp($0.baseAddress!, p, count) == 0 }
    }

    func int64(_ column: Int32) -> Int64? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
    }

    /// Rows changed by the last statement on this connection.
    var changes: Int32 { connection.map { sqlite3_changes($0) } ?? 0 }
    var lastInsertedRowID: Int64 { connection.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    private func failure(_ code: Int32) -> SQLiteStatementError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "SQLite error \(code)"
        sqlite3_reset(statement)
        return SQLiteStatementError(operation: operation, code: code, message: message)
    }
}
