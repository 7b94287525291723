/// A policy document about to become an agent's next version (already
/// validated and linted by the caller).
public struct PolicyDraft: Sendable, Equatable {
    public var agentId: String
    public var document: String
    public var author: String
    public var message: String
    public var forceReason: String?
    /// Epoch milliseconds.
    public var time: Int64

    public init(agentId: String, document: String, author: String, message: String, forceReason: String?, time: Int64) {
        self.agentId = agentId
        self.document = document
        self.author = author
        self.message = message
        self.forceReason = forceReason
        self.time = time
    }
}
