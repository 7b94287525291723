/// What a sidecar registers when its policy says `hold`.
public struct NewHold: Codable, Sendable, Equatable {
    public var key: String
    public var sidecarId: String
    public var agentId: String
    public var taskId: String
    public var accessKeyId: String?
    public var service: String?
    public var region: String?
    public var operation: String
    public var grants: [HoldGrantItem]
    public var summary: HoldSummary
    public var statementId: String?
    public var reasonHeld: String?

    enum CodingKeys: String, CodingKey {
        case key, sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", accessKeyId = "access_key_id"
        case service, region, operation, grants, summary, statementId = "statement_id", reasonHeld = "reason_held"
    }

    public init(key: String, sidecarId: String, agentId: String, taskId: String, accessKeyId: String?, service: String?,
                region: String?, operation: String, grants: [HoldGrantItem], summary: HoldSummary, statementId: String?,
                reasonHeld: String?) {
        self.key = key
        self.sidecarId = sidecarId
        self.agentId = agentId
        self.taskId = taskId
        self.accessKeyId = accessKeyId
        self.service = service
        self.region = region
        self.operation = operation
        self.grants = grants
        self.summary = summary
        self.statementId = statementId
        self.reasonHeld = reasonHeld
    }

    /// The pending hold this registration becomes.
    public func hold(id: String, createdMs: Int64, expiresMs: Int64) -> Hold {
        Hold(id: id, key: key, sidecarId: sidecarId, agentId: agentId, taskId: taskId, accessKeyId: accessKeyId,
             service: service, region: region, operation: operation, grants: grants, summary: summary,
             statementId: statementId, reasonHeld: reasonHeld, status: .pending, createdMs: createdMs, expiresMs: expiresMs)
    }
}
