/// A statement bound and stepped through the C API (``SQLiteRawStatement``)
/// failed: what was being done, SQLite's result code and its message.
///
/// Why its own type: the collector's ingest and the sidecar's spool both
/// use those statements, and each says the failure in its own terms
/// (``CollectorStoreError/database(operation:message:)``,
/// ``AuditSpoolError/storage(path:operation:reason:)``).
struct SQLiteStatementError: Error, Sendable, CustomStringConvertible {
    let operation: String
    /// SQLite's (extended) result code: the store tells a full disk
    /// (`SQLITE_FULL`) from other failures by it.
    let code: Int32
    let message: String

    var description: String { "\(operation): \(message)" }
}
