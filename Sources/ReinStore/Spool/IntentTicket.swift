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

    public init(id: Int64, recordId: String) {
        self.id = id
        self.recordId = recordId
    }

    public var description: String { "intent \(id) (record \(recordId))" }
}
