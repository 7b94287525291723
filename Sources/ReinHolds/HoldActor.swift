/// Who calls the hold API, as the transport's authentication saw it.
///
/// Why its own type: the collector and a standalone sidecar authenticate
/// differently (the collector's token table; the sidecar's `holds.tokens`)
/// but apply the same rules, so both reduce their principal to this.
public struct HoldActor: Sendable, Equatable {
    public enum Capability: String, Sendable {
        /// Register holds, wait for and use decisions (a sidecar).
        case register
        /// Approve and deny (an approver).
        case decide
        /// List and show (an approver or an auditor).
        case read
    }

    public var name: String
    public var capabilities: Set<Capability>
    /// A sidecar token: the agents it serves.
    public var agents: Set<String>
    /// An approver: the agents they own (they may not approve those).
    public var ownsAgents: Set<String>
    /// True for a sidecar's credentials, which can never decide, whatever
    /// other roles the same token carries.
    public var isSidecar: Bool

    public init(name: String, capabilities: Set<Capability>, agents: Set<String> = [], ownsAgents: Set<String> = [],
                isSidecar: Bool = false) {
        self.name = name
        self.capabilities = capabilities
        self.agents = agents
        self.ownsAgents = ownsAgents
        self.isSidecar = isSidecar
    }
}
