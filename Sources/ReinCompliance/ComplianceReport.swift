/// A framework-alignment report: reports for one or more frameworks over
/// the same facts, with the summary a reader needs first. Encoded with
/// sorted keys and no wall-clock time, so the same data and period give
/// byte-identical JSON.
public struct ComplianceReport: Codable, Sendable, Equatable {
    public static let schemaVersion = "rein.report/v1"

    public var schema = ComplianceReport.schemaVersion
    public var period: Period
    public var scope: Scope
    public var integrity: IntegrityState
    public var agents: [String]
    public var records: Int64
    public var calls: Int64
    public var signals: [SignalFact]
    public var findings: [ComplianceFinding]
    public var decisionsByDay: [DecisionCounts]
    public var decisionsByAgent: [DecisionCounts]
    public var frameworks: [FrameworkResult]

    public struct Period: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
    }

    public struct Scope: Codable, Sendable, Equatable {
        public var agent: String?
        public var task: String?
    }

    public struct FrameworkResult: Codable, Sendable, Equatable {
        public var framework: ComplianceCatalog.Framework
        /// Status → number of controls (every status listed, zeros included).
        public var statusCounts: [String: Int]
        public var controls: [ControlResult]

        enum CodingKeys: String, CodingKey { case framework, statusCounts = "status_counts", controls }
    }

    public struct ControlResult: Codable, Sendable, Equatable {
        public var id: String
        public var group: String
        public var category: String
        public var title: String
        public var description: String
        public var status: ControlStatus
        /// Why this status, in one sentence.
        public var basis: String
        public var evidence: [EvidenceItem]
        public var findings: [ComplianceFinding]
        /// Required signals that were absent.
        public var missing: [ComplianceSignal]
        public var attestation: String?
        public var rationale: String?
    }

    public struct EvidenceItem: Codable, Sendable, Equatable {
        public var signal: ComplianceSignal
        public var strength: ComplianceCatalog.EvidenceRule.Strength
        public var required: Bool
        public var present: Bool
        public var count: Int64
        public var samples: [String]
        public var why: String
        public var detail: String
    }

    enum CodingKeys: String, CodingKey {
        case schema, period, scope, integrity, agents, records, calls, signals, findings
        case decisionsByDay = "decisions_by_day", decisionsByAgent = "decisions_by_agent", frameworks
    }
}
