/// Where audit records go. The sidecar writes through this one interface;
/// the JSONL file is today's sink and the durable spool of the audit issue
/// replaces it without touching the request path.
///
/// `record` must be durable (or have failed) when it returns: the sidecar
/// writes a denial's record before answering, and fails closed when the
/// sink cannot write.
public protocol AuditSink: Sendable {
    func record(_ record: AuditRecord) throws(AuditSinkError)
    /// Flushes and closes; later records fail.
    func close()
}

/// Why a record could not be written.
public struct AuditSinkError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "cannot write the audit record to \(path): \(message)" }
}
