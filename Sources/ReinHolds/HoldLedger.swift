/// The one interface holds go through, wherever they are stored.
///
/// Why one interface: a standalone sidecar keeps holds in its own SQLite
/// file and serves approvers on its admin listener; with a collector, the
/// sidecar registers holds there and approvers use the collector. The
/// sidecar's hold logic, the HTTP API (``HoldAPI``) and the CLI are the same
/// code over either implementation.
///
/// Concurrency contract: ``register(_:)``, ``decide(id:_:by:)`` and
/// ``consume(id:)`` each read and write in one atomic step (SQLite's single
/// writer gives that; a store with concurrent writers needs conditional
/// updates such as `UPDATE … WHERE used_ms IS NULL` and checks the rows
/// changed), so that two racing approvers yield one decision and two racing
/// retries use a one-shot approval once.
public protocol HoldLedger: Sendable {
    /// Registers a held call, or returns the hold a retry of the same call
    /// belongs to: the newest hold with the same key that is pending, or
    /// approved and not yet used. A denied, expired or used hold is final;
    /// the same call after it raises a new hold.
    func register(_ new: NewHold) async throws(HoldError) -> Hold

    /// The hold, with an expiry that has passed applied.
    func hold(id: String) async throws(HoldError) -> Hold?

    /// Holds, newest first.
    func list(_ filter: HoldFilter) async throws(HoldError) -> [Hold]

    /// Approves or denies. Deciding the same way again returns the hold
    /// unchanged (idempotent); a different decision on a decided hold, or
    /// any decision on an expired one, is a `conflict`.
    func decide(id: String, _ decision: HoldDecision, by approver: String) async throws(HoldError) -> Hold

    /// Returns once the hold is no longer pending, or after `timeout`.
    func waitForDecision(id: String, timeout: Duration) async throws(HoldError) -> Hold

    /// Marks an approved hold used by the request it covers; false when it
    /// was already used (a one-shot approval forwards exactly one call).
    func consume(id: String) async throws(HoldError) -> Bool

    /// A live scoped grant that covers all of `grants` for this agent and
    /// task, if any; using it is recorded as a `grant-used` event.
    func matchingGrant(agentId: String, taskId: String, grants: [HoldGrantItem]) async throws(HoldError) -> HoldGrant?

    /// Why the ledger refuses every write until it is restarted (its
    /// storage lost a commit), or nil: the health probes say so, since only
    /// a restart clears it.
    var durabilityFault: String? { get }
}

extension HoldLedger {
    /// A ledger with no storage of its own (a client of the collector's) has no such fault.
    public var durabilityFault: String? { nil }
}

/// Which holds a list returns.
public struct HoldFilter: Sendable, Equatable {
    public var status: HoldStatus?
    public var agentId: String?
    /// Only holds of these agents (a sidecar token sees its own); nil for all.
    public var agents: Set<String>?
    public var limit: Int

    public init(status: HoldStatus? = nil, agentId: String? = nil, agents: Set<String>? = nil, limit: Int = 200) {
        self.status = status
        self.agentId = agentId
        self.agents = agents
        self.limit = limit
    }
}

/// An approver's answer.
public enum HoldDecision: Sendable, Equatable {
    /// `duration` applies to `actionResource` approvals (capped by
    /// ``HoldSettings/maxGrant``); a `request` approval is one-shot.
    case approve(scope: ApprovalScope, duration: Duration?, reason: String)
    case deny(reason: String)

    public var reason: String {
        switch self {
        case .approve(_, _, let reason), .deny(let reason): return reason
        }
    }
}
