import ReinAudit

/// Where the collector keeps audit records, integrity findings, the sidecar
/// registry and central policies.
///
/// Why a protocol: SQLite (``SQLiteCollectorStore``) is the embedded
/// default; a PostgreSQL store for larger fleets implements this same
/// interface and nothing above it changes. Every method is synchronous and
/// may block on I/O: callers run them off event loops (the collector uses a
/// thread pool). Times are epoch milliseconds, passed in so that tests and
/// replays control the clock.
///
/// Contract for implementations. SQLite meets the concurrency points with
/// its single writer; a store with concurrent writers (PostgreSQL) must
/// meet them explicitly, as noted:
/// - ``ingest(_:at:)`` is one transaction: records, checkpoints, findings,
///   the sidecar's chain head and the batch's bookkeeping commit together or
///   not at all, and are durable when it returns.
/// - Ingests for one sidecar are applied one at a time: each reads the chain
///   head the previous one wrote (a shipper's retry can overlap its first
///   attempt). PostgreSQL: lock the sidecar's row (`SELECT … FOR UPDATE`).
/// - Ingest is idempotent by (sidecar, sequence, record id): the same record
///   again is a duplicate; a record id reused at another sequence is stored
///   and flagged, not merged (no unique constraint on the record id alone).
///   Records are never dropped: every problem becomes a stored finding.
/// - Cursors only grow, also across restarts and retention deletes, and
///   become visible in order: once a reader sees cursor N, no record with a
///   lower cursor commits later (pages and `tail` resume after the newest
///   cursor they saw). PostgreSQL: assign cursors under one lock per ingest
///   transaction, or serve only cursors below the oldest one in flight.
/// - A sidecar id's agent and signing key are written once: registration is
///   a compare-and-set (first key wins, a different one is a finding),
///   ``claimSidecar(_:agentId:at:)`` binds only an unbound id, and a
///   heartbeat binds nothing. Callers rely on a read binding never changing.
/// - Retention moves a sidecar's `retainedFrom` floor in the transaction
///   that deletes its records, so that verification never reads deleted
///   records as a gap.
/// - Policy versions of one agent are numbered 1, 2, 3… without gaps;
///   concurrent pushes for one agent are serialised, not refused.
/// - One collector process per database: the collector's own audit chain
///   and the long-poll wake-ups live in that process. Opening a store that
///   another process has open is refused (SQLite: ``DatabaseLock``;
///   PostgreSQL: a session advisory lock), and ``close()`` lets it go.
///
/// Holds are kept apart, in a ``HoldLedger`` (`holds.sqlite`), whose
/// decide and consume steps are conditional updates (one decision, one use).
public protocol CollectorStore: Sendable {
    // MARK: lifecycle

    /// Stops the store's background work and closes it, once, at shutdown
    /// after the last write; later calls fail. Another process may then
    /// open it (SQLite: the database's ``DatabaseLock`` is let go).
    func close()

    /// Why the store no longer knows its writes to be durable (a sync of its
    /// log failed: ``WALFileSync/fault``), or nil. Every write fails while it
    /// is set, and `/readyz` reports it, until a restart recovers.
    var durabilityFault: String? { get }

    /// True while the disk under the store is full: from a write refused
    /// for want of space (``CollectorStoreError/full(operation:)``) to the
    /// next write that commits. Nothing needs a restart; reads still answer.
    var diskFull: Bool { get }

    // MARK: audit trail

    /// Stores a parsed batch for `batch.sidecarId`, verifying it against the
    /// sidecar's chain (resumed from the stored head) and checkpoints
    /// (against the pinned key and the stored hashes).
    func ingest(_ batch: AuditBatch, at now: Int64) throws(CollectorStoreError) -> IngestOutcome

    /// One page of records matching `query`, in cursor order.
    func records(_ query: RecordQuery) throws(CollectorStoreError) -> RecordPage

    /// The newest ingest cursor (0 when nothing was ever stored).
    func latestCursor() throws(CollectorStoreError) -> Int64

    /// Stored findings, oldest first, optionally for one sidecar, since a
    /// time, and after a finding id (the next page: ids only grow).
    func findings(sidecarId: String?, since: Int64?, after: Int64?, limit: Int) throws(CollectorStoreError) -> [StoredFinding]

    /// Stores findings that did not come from a batch (a key mismatch at registration).
    func addFindings(_ findings: [IntegrityFinding], evidence: [UInt8]?, at now: Int64) throws(CollectorStoreError) -> [StoredFinding]

    /// Replays one sidecar's stored records with sequence in `from...to` (in
    /// the order they arrived) through ``ChainVerifier``, and re-checks the
    /// stored checkpoints in that range. `from` defaults to the retention
    /// floor (or 1), `to` to the highest sequence the store knows the chain
    /// reached; records of the range no longer held, above the floor, are a
    /// gap, at the ends of the range as in its middle.
    func verify(sidecarId: String, from: Int64?, to: Int64?) throws(CollectorStoreError) -> ChainVerificationReport

    /// The stored checkpoint lines (as shipped) of one sidecar that name a
    /// sequence in `from...to`, in sequence order: an export carries them
    /// after the records they name, so that it verifies offline.
    func checkpointLines(sidecarId: String, from: Int64, to: Int64) throws(CollectorStoreError) -> [(sequence: Int64, line: [UInt8])]

    /// Deletes records received before `cutoff` (epoch ms); findings stay,
    /// and each sidecar's retention floor moves with its deleted records.
    /// Sidecars that ended before the cutoff and have no record left leave
    /// the fleet (their findings stay).
    /// Returns how many records were deleted.
    func deleteRecords(receivedBefore cutoff: Int64) throws(CollectorStoreError) -> Int

    // MARK: sidecars

    /// Pins the sidecar's key and binds its agent on first registration; a
    /// later one with the same key refreshes its facts, with another key it
    /// stores an `unknown-key` finding and keeps the pin, and one naming
    /// another agent than the bound one changes nothing (`boundAgent`).
    func register(_ registration: SidecarRegistration, at now: Int64) throws(CollectorStoreError) -> SidecarRegistration.Outcome
    /// Records a heartbeat's facts for a registered sidecar of that agent;
    /// never binds or moves an id.
    func heartbeat(_ heartbeat: SidecarHeartbeat, at now: Int64) throws(CollectorStoreError) -> HeartbeatOutcome
    /// Binds a sidecar id that no registration has bound yet to the agent
    /// its first shipped records name, and returns the agent it is bound to
    /// (that one, or the one already bound): a chain is one agent's.
    func claimSidecar(_ sidecarId: String, agentId: String, at now: Int64) throws(CollectorStoreError) -> String
    /// Retires a sidecar that stopped or has not reported since `cutoff`
    /// (epoch ms), storing the audit batch `event` makes for it in the same
    /// transaction (the collector's `sidecar-retired` record). The end is
    /// cleared when the sidecar registers, heartbeats or ships new records.
    func retireSidecar(_ sidecarId: String, by actor: String, reason: String, at now: Int64, unlessSeenSince cutoff: Int64,
                       event: (SidecarEntry) throws -> AuditBatch?) throws(CollectorStoreError) -> SidecarRetirement
    func sidecar(_ sidecarId: String) throws(CollectorStoreError) -> SidecarEntry?
    func sidecars() throws(CollectorStoreError) -> [SidecarEntry]

    // MARK: policies

    /// Stores the agent's next version and, in the same transaction, the
    /// audit batch `event` makes for it (the collector's `policy-change`
    /// record, ingested as ``ingest(_:at:)`` would): a policy is never
    /// served without its change on record. `event` may return nil.
    func addPolicyVersion(_ draft: PolicyDraft, event: (PolicyVersion) throws -> AuditBatch?) throws(CollectorStoreError) -> PolicyVersion
    /// Stores a new version whose document is `version`'s, with its event as
    /// above; `notFound` when there is no such version.
    func rollbackPolicy(agentId: String, toVersion version: Int64, author: String, message: String, forceReason: String?,
                        at now: Int64, event: (PolicyVersion) throws -> AuditBatch?) throws(CollectorStoreError) -> PolicyVersion
    func currentPolicy(agentId: String) throws(CollectorStoreError) -> PolicyVersion?
    func policyVersion(agentId: String, version: Int64) throws(CollectorStoreError) -> PolicyVersion?
    /// Every version of one agent's policy, newest first.
    func policyHistory(agentId: String) throws(CollectorStoreError) -> [PolicyVersion]
    /// The current version of every agent's policy, by agent id.
    func currentPolicies() throws(CollectorStoreError) -> [PolicyVersion]

    // Framework reports
    /// Daily counts, hold decisions, fleet, integrity, policies and samples for a report's period and scope.
    func complianceData(_ query: ComplianceData.Query) throws(CollectorStoreError) -> ComplianceData
}

extension CollectorStore {
    /// Stores the agent's next version with no event (tests, imports).
    public func addPolicyVersion(_ draft: PolicyDraft) throws(CollectorStoreError) -> PolicyVersion {
        try addPolicyVersion(draft, event: { _ in nil })
    }

    /// Rolls back with no event (tests, imports).
    public func rollbackPolicy(agentId: String, toVersion version: Int64, author: String, message: String, forceReason: String?,
                               at now: Int64) throws(CollectorStoreError) -> PolicyVersion {
        try rollbackPolicy(agentId: agentId, toVersion: version, author: author, message: message, forceReason: forceReason, at: now,
                           event: { _ in nil })
    }
}
