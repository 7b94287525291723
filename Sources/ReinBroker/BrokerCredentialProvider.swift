import Foundation

/// Produces broker credentials on demand.
///
/// `fetch` may block on the network (STS, IMDS, a container endpoint), so
/// only ``BrokerCredentialSource`` calls it, off the request path. Providers
/// keep no cache of their own; they read files (token files, shared
/// credentials) afresh on every fetch so that rotations are picked up.
public protocol BrokerCredentialProvider: Sendable {
    /// The provider's configuration name (`static`, `assume_role`, ...), used in logs and errors.
    var name: String { get }
    func fetch(now: Date) throws(BrokerError) -> BrokerCredentials
}

/// What the broker knows about the task it obtains credentials for.
///
/// AssumeRole (and web identity, when it is the last hop) use it to scope the
/// session: the session policy compiled from the allowlist, the agent as the
/// source identity and in session tags, and a duration that never outlives
/// the task.
public struct BrokerContext: Sendable {
    /// Returns the session policy JSON within `maxCharacters`, or nil for none.
    /// Called again with a smaller budget when STS answers `PackedPolicyTooLarge`.
    public typealias SessionPolicy = @Sendable (_ maxCharacters: Int) throws(BrokerError) -> String?

    public var agentId: String
    public var taskId: String
    /// When the task ends; credentials are never issued past it. nil: no limit.
    public var taskExpiry: Date?
    public var sessionPolicy: SessionPolicy?

    public init(agentId: String, taskId: String, taskExpiry: Date? = nil, sessionPolicy: SessionPolicy? = nil) {
        self.agentId = agentId
        self.taskId = taskId
        self.taskExpiry = taskExpiry
        self.sessionPolicy = sessionPolicy
    }

    /// The context for a base ("source") provider whose credentials only call
    /// AssumeRole: the task's scoping belongs to the last hop only.
    var forBase: BrokerContext {
        BrokerContext(agentId: agentId, taskId: taskId, taskExpiry: nil, sessionPolicy: nil)
    }
}
