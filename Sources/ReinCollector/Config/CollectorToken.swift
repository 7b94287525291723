/// One API token as configured: a name, roles, and the SHA-256 of the token
/// text (never the token itself).
///
/// Why hashed: the configuration file is read by operators and kept in
/// version control; a leaked file must not leak a usable token. The hash
/// is made with `rein collector hash-token`.
public struct CollectorToken: Sendable, Equatable {
    /// Shown as the actor in audit events and logs.
    public var name: String
    public var roles: Set<CollectorRole>
    /// Lower-case hex SHA-256 of the token text.
    public var sha256: String
    /// For `sidecar` tokens: the agents whose sidecars may use it.
    public var agents: Set<String>
    /// For `approver` tokens: the agents whose holds they own (the holds issue).
    public var ownsAgents: Set<String>
    /// For `sidecar` tokens: the sidecar ids it may act as; empty for any.
    public var sidecarIds: [SidecarIdPattern]

    public init(name: String, roles: Set<CollectorRole>, sha256: String, agents: Set<String> = [], ownsAgents: Set<String> = [],
                sidecarIds: [SidecarIdPattern] = []) {
        self.name = name
        self.roles = roles
        self.sha256 = sha256
        self.agents = agents
        self.ownsAgents = ownsAgents
        self.sidecarIds = sidecarIds
    }
}
