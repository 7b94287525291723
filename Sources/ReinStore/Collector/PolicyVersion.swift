/// One stored version of an agent's central policy.
///
/// Why the document text and not a parsed policy: what sidecars fetch, what
/// `rein policy diff` compares and what the sha256 covers must be the exact
/// text the admin pushed, comments included.
public struct PolicyVersion: Sendable, Equatable {
    public var agentId: String
    /// 1, 2, 3, … per agent; the highest is current.
    public var version: Int64
    public var document: String
    /// SHA-256 (hex) of the document's UTF-8 bytes.
    public var sha256: String
    /// The token name that pushed or rolled back.
    public var author: String
    /// Epoch milliseconds.
    public var time: Int64
    public var message: String
    /// Set when error-level lint findings were overridden.
    public var forceReason: String?
    /// The version a rollback copied, nil for a push.
    public var rollbackOf: Int64?

    public init(agentId: String, version: Int64, document: String, sha256: String, author: String, time: Int64,
                message: String, forceReason: String?, rollbackOf: Int64?) {
        self.agentId = agentId
        self.version = version
        self.document = document
        self.sha256 = sha256
        self.author = author
        self.time = time
        self.message = message
        self.forceReason = forceReason
        self.rollbackOf = rollbackOf
    }
}
