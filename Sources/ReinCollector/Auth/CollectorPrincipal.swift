/// Who is calling: the configured token that matched.
public struct CollectorPrincipal: Sendable, Equatable {
    public let name: String
    public let roles: Set<CollectorRole>
    public let agents: Set<String>
    public let ownsAgents: Set<String>
    /// The sidecar ids a sidecar token may act as; empty for any.
    public let sidecarIds: [SidecarIdPattern]

    public init(name: String, roles: Set<CollectorRole>, agents: Set<String> = [], ownsAgents: Set<String> = [],
                sidecarIds: [SidecarIdPattern] = []) {
        self.name = name
        self.roles = roles
        self.agents = agents
        self.ownsAgents = ownsAgents
        self.sidecarIds = sidecarIds
    }

    public init(_ token: CollectorToken) {
        self.init(name: token.name, roles: token.roles, agents: token.agents, ownsAgents: token.ownsAgents, sidecarIds: token.sidecarIds)
    }

    public func has(_ role: CollectorRole) -> Bool { roles.contains(role) }

    /// True when this token's sidecars may act for `agent`.
    public func serves(agent: String) -> Bool { roles.contains(.sidecar) && agents.contains(agent) }

    /// True when this token may register, heartbeat, ship and hold as
    /// sidecar `id` (its `sidecar_ids`, when it names any).
    public func mayActAs(sidecar id: String) -> Bool {
        roles.contains(.sidecar) && (sidecarIds.isEmpty || sidecarIds.contains { $0.matches(id) })
    }

    /// Why ``mayActAs(sidecar:)`` refused, for the audit event and the error.
    public func sidecarScopeRefusal(_ id: String) -> String {
        "token \(name) may act only as sidecar ids \(sidecarIds.map(\.text).joined(separator: ", ")), not \(id)"
    }
}
