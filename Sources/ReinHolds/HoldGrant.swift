/// A scoped, temporary approval: "allow this action on these resources for
/// this agent and task until then". The sidecar consults it before raising
/// a new hold, and each use is an audit event.
public struct HoldGrant: Codable, Sendable, Equatable {
    public var id: String
    public var holdId: String
    public var agentId: String
    public var taskId: String
    public var grants: [HoldGrantItem]
    public var approver: String
    public var reason: String
    public var createdMs: Int64
    public var expiresMs: Int64

    enum CodingKeys: String, CodingKey {
        case id, holdId = "hold_id", agentId = "agent_id", taskId = "task_id", grants, approver, reason
        case createdMs = "created_ms", expiresMs = "expires_ms"
    }

    public init(id: String, holdId: String, agentId: String, taskId: String, grants: [HoldGrantItem], approver: String,
                reason: String, createdMs: Int64, expiresMs: Int64) {
        self.id = id
        self.holdId = holdId
        self.agentId = agentId
        self.taskId = taskId
        self.grants = grants
        self.approver = approver
        self.reason = reason
        self.createdMs = createdMs
        self.expiresMs = expiresMs
    }

    /// True when every action and resource of `wanted` is one this grant
    /// names, for the same agent and task, before it expires. Exact
    /// matches only: an approval never widens to other resources, and an
    /// action wanted on no named resource matches only a grant that named
    /// none either (an empty set is a subset of every grant's resources).
    public func covers(agentId: String, taskId: String, wanted: [HoldGrantItem], at now: Int64) -> Bool {
        now < expiresMs && names(agentId: agentId, taskId: taskId, wanted: wanted)
    }

    /// ``covers(agentId:taskId:wanted:at:)`` without the clock: for a
    /// sidecar checking a collector's answer, whose clock decided expiry.
    public func names(agentId: String, taskId: String, wanted: [HoldGrantItem]) -> Bool {
        guard agentId == self.agentId, taskId == self.taskId, !wanted.isEmpty else { return false }
        return wanted.allSatisfy { item in
            grants.contains { g in
                g.action == item.action
                    && (item.resources.isEmpty ? g.resources.isEmpty : Set(item.resources).isSubset(of: Set(g.resources)))
            }
        }
    }
}
