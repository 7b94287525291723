/// A durable intent: proof that the spool holds "this call is about to be
/// forwarded" before anything leaves for the upstream.
///
/// Why a ticket: the final record completes the intent in one transaction
/// (the intent row is deleted as the sealed record is inserted), so at every
/// instant the call is on disk exactly once, either as an intent or as a
/// chained record. Tickets do not outlive the process: intents left by a
/// crash are sealed when the spool is next opened.
public struct IntentTicket: Sendable, Hashable, CustomStringConvertible {
    /// The intent's row id.
    public let id: Int64
    /// The record id the intent was written for.
    public let recordId: String
    /// The intent's stored size: what completing it frees under the cap.
    /// Why carried: asking SQLite (`DELETE … RETURNING`) built and freed a
    /// temporary table per completion, and unmapping its memory interrupted
    /// the other core each time; the writer was spending a third of its time there.
    public let bytes: Int64

    public init(id: Int64, recordId: String, bytes: Int64) {
        self.id = id
        self.recordId = recordId
        self.bytes = bytes
    }

    public var description: String { "intent \(id) (record \(recordId))" }
}
