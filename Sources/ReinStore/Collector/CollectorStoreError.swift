/// Why a collector store operation failed.
///
/// Why typed: the HTTP layer maps each case to a status (`notFound` → 404,
/// `conflict` → 409, `invalid` → 400, `database` → 500, `unavailable` → 503) without parsing
/// messages, and a PostgreSQL store reports the same cases.
public enum CollectorStoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The database failed (I/O, corruption, a full disk); retrying later may help.
    case database(operation: String, message: String)
    /// The thing asked for does not exist (an agent's policy version, a sidecar).
    case notFound(String)
    /// The request contradicts stored state.
    case conflict(String)
    /// The request itself is wrong.
    case invalid(String)
    /// Writes are refused until the process is restarted: a sync of the log
    /// failed, and nothing written since would be known durable (``WALFileSync``).
    case unavailable(String)
    /// The disk under the database is full: nothing was written. Writes
    /// succeed again once space is freed, with no restart.
    case full(operation: String)

    public var description: String {
        switch self {
        case .database(let operation, let message): "collector store: \(operation) failed: \(message)"
        case .notFound(let m): "not found: \(m)"
        case .conflict(let m): "conflict: \(m)"
        case .invalid(let m): "invalid: \(m)"
        case .unavailable(let m): "collector store unavailable: \(m)"
        case .full(let operation): "collector store: \(operation) failed: the disk under the database is full"
        }
    }
}
