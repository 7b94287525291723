/// A statement bound and stepped through the C API (``SQLiteRawStatement``)
/// failed: what was being done and SQLite's message.
///
/// Why its own type: the collector's ingest and the sidecar's spool both
/// use those statements, and each says the failure in its own terms
/// (``CollectorStoreError/database(operation:message:)``,
/// ``AuditSpoolError/storage(path:operation:reason:)``).
struct SQLiteStatementError: Error, Sendable, CustomStringConvertible {
    let operation: String
    let message: String

    var description: String { "\(operation): \(message)" }
}
