/// What a framework report reads from the collector's store for one period
/// and scope: daily counts, hold decisions, the fleet, integrity findings,
/// checkpoints, the allowlists in force, and a few sample record ids.
public struct ComplianceData: Sendable, Equatable {
    public struct Query: Sendable, Equatable {
        /// Record time, epoch milliseconds: `since` inclusive, `until` exclusive.
        public var since: Int64
        public var until: Int64
        public var agentId: String?
        public var taskId: String?

        public init(since: Int64, until: Int64, agentId: String? = nil, taskId: String? = nil) {
            self.since = since
            self.until = until
            self.agentId = agentId
            self.taskId = taskId
        }
    }

    public struct RollupRow: Sendable, Equatable {
        public var day: Int64
        public var agentId: String
        public var taskId: String
        public var event: String
        public var decision: String
        /// `ASIA`, `AKIA`, another prefix, or empty.
        public var keyKind: String
        public var broker: String
        public var forwarded: Bool
        public var count: Int64
    }

    /// A recorded hold decision (an event, or a call forwarded on an approval).
    public struct HoldDecision: Sendable, Equatable {
        public var recordId: String
        public var sidecarId: String
        public var agentId: String?
        public var taskId: String?
        public var event: String
        public var decision: String
        public var approver: String?
        public var holdId: String?
        public var grantId: String?
    }

    public var rollup: [RollupRow] = []
    public var holdDecisions: [HoldDecision] = []
    public var sidecars: [SidecarEntry] = []
    public var findings: [StoredFinding] = []
    /// Checkpoints received in the period from sidecars in scope.
    public var checkpoints: Int64 = 0
    /// Each agent's allowlist in force at the end of the period.
    public var policies: [PolicyVersion] = []
    /// Policy versions stored during the period (in scope).
    public var policyVersionsInPeriod: Int64 = 0
    /// Sample record ids by kind: `call`, `deny`, `hold`, `forwarded`, `policy-change`.
    public var samples: [String: [String]] = [:]

    public init() {}
}
