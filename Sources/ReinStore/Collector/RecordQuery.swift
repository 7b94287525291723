/// Filters for stored records (`GET /v1/audit/records`, `rein audit query`).
///
/// Every filter is optional and they combine with AND. Results come in
/// ingest-cursor order after `after`, so a reader can page through or tail
/// the trail without missing or repeating a record.
public struct RecordQuery: Sendable, Equatable {
    public var sidecarId: String?
    public var agentId: String?
    public var taskId: String?
    /// An IAM action one of the record's grants names, e.g. `s3:GetObject`.
    public var action: String?
    /// A prefix of a resource one of the record's grants names.
    public var resourcePrefix: String?
    public var decision: String?
    public var event: String?
    /// Record time, epoch milliseconds: `since` inclusive, `until` exclusive.
    public var since: Int64?
    public var until: Int64?
    /// Only records with a cursor above this one.
    public var after: Int64
    public var limit: Int

    public static let defaultLimit = 1000
    public static let maximumLimit = 10_000

    public init(sidecarId: String? = nil, agentId: String? = nil, taskId: String? = nil, action: String? = nil,
                resourcePrefix: String? = nil, decision: String? = nil, event: String? = nil, since: Int64? = nil,
                until: Int64? = nil, after: Int64 = 0, limit: Int = RecordQuery.defaultLimit) {
        self.sidecarId = sidecarId
        self.agentId = agentId
        self.taskId = taskId
        self.action = action
        self.resourcePrefix = resourcePrefix
        self.decision = decision
        self.event = event
        self.since = since
        self.until = until
        self.after = after
        self.limit = limit
    }
}
