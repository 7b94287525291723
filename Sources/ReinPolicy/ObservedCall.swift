/// One AWS call as the audit trail records it, reduced to what
/// `rein policy suggest` needs. This is the single definition of the JSONL
/// shape the suggester reads; audit records carry more fields (agent, task,
/// decision, latencies, hashes, ...) and extra fields are ignored, so the
/// full audit record (issue 6) feeds the suggester unchanged.
///
/// ```json
/// {"time": "2026-11-18T10:00:00Z", "agent_id": "report-writer", "task_id": "q3",
///  "service": "s3", "operation": "GetObject", "decision": "allow",
///  "grants": [{"action": "s3:GetObject", "resources": ["arn:aws:s3:::b/k"]}]}
/// ```
public struct ObservedCall: Sendable, Decodable, Equatable {
    public struct Grant: Sendable, Decodable, Equatable {
        public let action: String
        public let resources: [String]
    }

    public let time: String?
    public let agentId: String?
    public let taskId: String?
    public let service: String?
    public let operation: String?
    /// allow, deny, hold-approved, ... or would-deny in observe mode.
    public let decision: String?
    public let grants: [Grant]

    enum CodingKeys: String, CodingKey {
        case time, agentId = "agent_id", taskId = "task_id", service, operation, decision, grants
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        time = try c.decodeIfPresent(String.self, forKey: .time)
        agentId = try c.decodeIfPresent(String.self, forKey: .agentId)
        taskId = try c.decodeIfPresent(String.self, forKey: .taskId)
        service = try c.decodeIfPresent(String.self, forKey: .service)
        operation = try c.decodeIfPresent(String.self, forKey: .operation)
        decision = try c.decodeIfPresent(String.self, forKey: .decision)
        grants = try c.decodeIfPresent([Grant].self, forKey: .grants) ?? []
    }
}
