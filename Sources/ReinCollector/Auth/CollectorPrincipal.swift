/// Who is calling: the configured token that matched.
public struct CollectorPrincipal: Sendable, Equatable {
    public let name: String
    public let roles: Set<CollectorRole>
    public let agents: Set<String>
    public let ownsAgents: Set<String>

    public init(name: String, roles: Set<CollectorRole>, agents: Set<String> = [], ownsAgents: Set<String> = []) {
        self.name = name
        self.roles = roles
        self.agents = agents
        self.ownsAgents = ownsAgents
    }

    public init(_ token: CollectorToken) {
        self.init(name: token.name, roles: token.roles, agents: token.agents, ownsAgents: token.ownsAgents)
    }

    public func has(_ role: CollectorRole) -> Bool { roles.contains(role) }

    /// True when this token's sidecars may act for `agent`.
    public func serves(agent: String) -> Bool { roles.contains(.sidecar) && agents.contains(agent) }
}
