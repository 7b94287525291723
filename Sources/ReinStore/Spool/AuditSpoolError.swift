/// Why the audit spool could not take, keep or hand out a record.
///
/// Why an enum with context: the sidecar acts differently on each case. A
/// full spool is a temporary, expected state (it answers 503 and goes
/// not-ready until the collector catches up); a storage failure means the
/// trail cannot be trusted and it fails closed; a full disk under the spool
/// refuses writes until space is freed, and then they go on with no restart
/// (SQLite rolled the refused write back whole); a dropped record is what
/// the operator opted into with `drop_when_full`.
public enum AuditSpoolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database could not be opened or prepared.
    case open(path: String, reason: String)
    /// SQLite refused a read or a write (I/O error, disk full, corruption).
    case storage(path: String, operation: String, reason: String)
    /// The file system under the spool had no room for the write (SQLite's
    /// `SQLITE_FULL`): nothing of it was stored, and the same write succeeds
    /// once space is freed.
    case diskFull(path: String, operation: String)
    /// Storing `needed` more bytes would pass the cap: nothing was stored.
    case full(needed: Int, used: Int64, max: Int64)
    /// The spool was full and `dropWhenFull` is set: the record was counted
    /// and logged, and not stored. Callers that opted in carry on.
    case dropped(recordId: String, used: Int64, max: Int64)
    /// The record could not be turned into its JSON line.
    case encoding(recordId: String, reason: String)
    /// The spool holds another sidecar's records.
    case sidecarMismatch(path: String, stored: String, configured: String)
    /// The spool was closed; nothing more is accepted.
    case closed(path: String)

    public var description: String {
        switch self {
        case .open(let path, let reason):
            return "cannot open the audit spool at \(path): \(reason)"
        case .storage(let path, let operation, let reason):
            return "the audit spool at \(path) could not \(operation): \(reason)"
        case .diskFull(let path, let operation):
            return "the disk under the audit spool at \(path) is full: could not \(operation), and nothing of it was written; "
                + "writes go on once space is freed there"
        case .full(let needed, let used, let max):
            return "the audit spool is full: \(needed) more bytes do not fit (\(used) of \(max) bytes used); "
                + "space returns when the collector acknowledges shipped records"
        case .dropped(let recordId, let used, let max):
            return "audit record \(recordId) was dropped: the spool is full (\(used) of \(max) bytes) and drop_when_full is set"
        case .encoding(let recordId, let reason):
            return "audit record \(recordId) cannot be encoded: \(reason)"
        case .sidecarMismatch(let path, let stored, let configured):
            return "the audit spool at \(path) holds unshipped records of sidecar '\(stored)', not '\(configured)': "
                + "ship them with sidecar_id '\(stored)' first, or give this sidecar its own state_dir"
        case .closed(let path):
            return "the audit spool at \(path) is closed"
        }
    }

    /// True for the "no space" outcomes, which pass when space returns.
    public var isFull: Bool {
        switch self {
        case .full, .dropped, .diskFull: return true
        default: return false
        }
    }
}
