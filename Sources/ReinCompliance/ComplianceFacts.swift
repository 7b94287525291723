/// Everything a report states about the fleet over its period and scope,
/// gathered by the collector from its store. The evaluator judges controls
/// from these facts only, so a report is a pure function of them (and of
/// the catalogs): the same data and period give the same report.
public struct ComplianceFacts: Codable, Sendable, Equatable {
    /// Epoch milliseconds, start inclusive, end exclusive.
    public var periodStartMs: Int64
    public var periodEndMs: Int64
    public var agentFilter: String?
    public var taskFilter: String?
    /// Agents in scope (with records, a policy or a sidecar), sorted.
    public var agents: [String]
    public var signals: [SignalFact]
    public var findings: [ComplianceFinding]
    public var decisionsByDay: [DecisionCounts]
    public var decisionsByAgent: [DecisionCounts]
    public var integrity: IntegrityState
    /// Stored records (calls and events) in scope and period.
    public var records: Int64
    /// Call records among them.
    public var calls: Int64

    public init(periodStartMs: Int64, periodEndMs: Int64, agentFilter: String? = nil, taskFilter: String? = nil,
                agents: [String] = [], signals: [SignalFact] = [], findings: [ComplianceFinding] = [],
                decisionsByDay: [DecisionCounts] = [], decisionsByAgent: [DecisionCounts] = [],
                integrity: IntegrityState = IntegrityState(state: .noData, findings: 0, checkpoints: 0, sidecars: 0, detail: "no records"),
                records: Int64 = 0, calls: Int64 = 0) {
        self.periodStartMs = periodStartMs
        self.periodEndMs = periodEndMs
        self.agentFilter = agentFilter
        self.taskFilter = taskFilter
        self.agents = agents
        self.signals = signals
        self.findings = findings
        self.decisionsByDay = decisionsByDay
        self.decisionsByAgent = decisionsByAgent
        self.integrity = integrity
        self.records = records
        self.calls = calls
    }

    public func signal(_ s: ComplianceSignal) -> SignalFact? { signals.first { $0.signal == s } }

    enum CodingKeys: String, CodingKey {
        case periodStartMs = "period_start_ms", periodEndMs = "period_end_ms", agentFilter = "agent", taskFilter = "task"
        case agents, signals, findings, decisionsByDay = "decisions_by_day", decisionsByAgent = "decisions_by_agent"
        case integrity, records, calls
    }
}

/// One signal over the period: whether it holds, how many records show it,
/// a few record ids to look at, and what it means here.
public struct SignalFact: Codable, Sendable, Equatable {
    public var signal: ComplianceSignal
    public var present: Bool
    public var count: Int64
    public var samples: [String]
    public var detail: String

    public init(signal: ComplianceSignal, present: Bool, count: Int64, samples: [String] = [], detail: String) {
        self.signal = signal
        self.present = present
        self.count = count
        self.samples = samples
        self.detail = detail
    }
}

/// Decision counts for one chart bar: a day (`2026-11-29`) or an agent.
public struct DecisionCounts: Codable, Sendable, Equatable {
    public var label: String
    /// Decision → count, e.g. `allow`, `deny`, `hold-approved`.
    public var counts: [String: Int64]

    public init(label: String, counts: [String: Int64]) {
        self.label = label
        self.counts = counts
    }

    public var total: Int64 { counts.values.reduce(0, +) }
}

/// The state of the audit logs under a report.
public struct IntegrityState: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Chains and checkpoints verified, no findings.
        case verified
        /// At least one integrity finding: the report says so on its first page.
        case broken
        /// Records without any signed checkpoint yet.
        case unverified
        case noData = "no-data"
    }

    public var state: State
    public var findings: Int
    public var checkpoints: Int64
    public var sidecars: Int
    public var detail: String

    /// A few words for the `chain-verified` signal.
    public var summary: String {
        switch state {
        case .verified: return "chains verified with \(checkpoints) signed checkpoint(s), no findings"
        case .broken: return "\(findings) integrity finding(s)"
        case .unverified: return "no signed checkpoint yet"
        case .noData: return "no records"
        }
    }

    public init(state: State, findings: Int, checkpoints: Int64, sidecars: Int, detail: String) {
        self.state = state
        self.findings = findings
        self.checkpoints = checkpoints
        self.sidecars = sidecars
        self.detail = detail
    }
}

/// A concrete problem that makes controls a gap: who, where, and what to do.
public struct ComplianceFinding: Codable, Sendable, Equatable, Comparable {
    public var kind: ComplianceFindingKind
    public var agentId: String?
    public var taskId: String?
    public var sidecarId: String?
    public var policyVersion: String?
    public var recordId: String?
    public var holdId: String?
    public var detail: String
    public var remediation: String

    public init(kind: ComplianceFindingKind, agentId: String? = nil, taskId: String? = nil, sidecarId: String? = nil,
                policyVersion: String? = nil, recordId: String? = nil, holdId: String? = nil, detail: String, remediation: String) {
        self.kind = kind
        self.agentId = agentId
        self.taskId = taskId
        self.sidecarId = sidecarId
        self.policyVersion = policyVersion
        self.recordId = recordId
        self.holdId = holdId
        self.detail = detail
        self.remediation = remediation
    }

    enum CodingKeys: String, CodingKey {
        case kind, agentId = "agent_id", taskId = "task_id", sidecarId = "sidecar_id", policyVersion = "policy_version"
        case recordId = "record_id", holdId = "hold_id", detail, remediation
    }

    public static func < (a: Self, b: Self) -> Bool {
        (a.kind, a.agentId ?? "", a.sidecarId ?? "", a.recordId ?? "", a.detail) < (b.kind, b.agentId ?? "", b.sidecarId ?? "", b.recordId ?? "", b.detail)
    }
}
