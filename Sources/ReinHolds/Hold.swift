import Foundation

/// One call the policy marked `hold`, parked until a person decides.
///
/// Why a value with its whole story: the same record is what the sidecar
/// registers, what approvers list and show, what the collector stores and
/// what the audit events describe, so it carries the request's identity
/// and a redacted summary (never a body, a signature or a credential), the
/// decision and, for a scoped approval, the grant it created.
public struct Hold: Codable, Sendable, Equatable {
    /// Short and readable (`h-4k7q2mzd`), for people to type and say.
    public var id: String
    /// ``HoldIdentity`` of the request: a retry of the same call has the same key.
    public var key: String
    public var sidecarId: String
    public var agentId: String
    public var taskId: String
    /// The agent access key id that signed the call (an id, not a secret).
    public var accessKeyId: String?
    public var service: String?
    public var region: String?
    public var operation: String
    public var grants: [HoldGrantItem]
    public var summary: HoldSummary
    public var statementId: String?
    public var reasonHeld: String?
    public var status: HoldStatus
    /// Epoch milliseconds.
    public var createdMs: Int64
    public var expiresMs: Int64
    public var decidedMs: Int64?
    /// Who decided (a token name); nil while pending and for an expiry.
    public var approver: String?
    public var decisionReason: String?
    public var scope: ApprovalScope?
    /// The scoped grant an `action-resource` approval created.
    public var grantId: String?
    public var grantExpiresMs: Int64?
    /// When a one-shot approval was used by the held request (or its retry).
    public var usedMs: Int64?

    enum CodingKeys: String, CodingKey {
        case id, key, sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", accessKeyId = "access_key_id"
        case service, region, operation, grants, summary, statementId = "statement_id", reasonHeld = "reason_held", status
        case createdMs = "created_ms", expiresMs = "expires_ms", decidedMs = "decided_ms", approver
        case decisionReason = "decision_reason", scope, grantId = "grant_id", grantExpiresMs = "grant_expires_ms", usedMs = "used_ms"
    }

    /// The status as of `now`: a pending hold past its expiry is expired
    /// even before a sweep has stored that.
    public func status(at now: Int64) -> HoldStatus {
        status == .pending && now >= expiresMs ? .expired : status
    }

    /// Milliseconds from creation to decision (or to `now` while pending).
    public func waitedMs(at now: Int64) -> Int64 { (decidedMs ?? now) - createdMs }
}

/// Where a hold stands.
public enum HoldStatus: String, Codable, Sendable, CaseIterable {
    case pending, approved, denied, expired
}

/// What an approval covers.
public enum ApprovalScope: String, Codable, Sendable, CaseIterable {
    /// This request only (and its retries), once.
    case request
    /// This action on these resources, for this agent and task, for a while.
    case actionResource = "action-resource"
}

/// One IAM action and the resources a held call touches with it.
public struct HoldGrantItem: Codable, Sendable, Equatable, Hashable {
    public var action: String
    public var resources: [String]

    public init(action: String, resources: [String]) {
        self.action = action
        self.resources = resources
    }
}

/// What an approver sees of the request: enough to judge it, nothing secret.
public struct HoldSummary: Codable, Sendable, Equatable {
    public var method: String
    public var host: String?
    /// The path as sent (object keys are what approvers judge).
    public var path: String
    /// Query parameter names only: values can carry tokens.
    public var queryKeys: [String]
    public var contentLength: Int64?
    public var userAgent: String?
    public var sourceAddress: String?

    enum CodingKeys: String, CodingKey {
        case method, host, path, queryKeys = "query_keys", contentLength = "content_length", userAgent = "user_agent"
        case sourceAddress = "source_address"
    }

    public init(method: String, host: String?, path: String, queryKeys: [String], contentLength: Int64?,
                userAgent: String?, sourceAddress: String?) {
        self.method = method
        self.host = host
        self.path = path
        self.queryKeys = queryKeys
        self.contentLength = contentLength
        self.userAgent = userAgent
        self.sourceAddress = sourceAddress
    }
}

extension Hold {
    /// Whether `new` is this hold's call again (an SDK retry): same sidecar,
    /// agent, task, operation and grants, not only the same key.
    public func sameCall(as new: NewHold) -> Bool {
        key == new.key && sidecarId == new.sidecarId && agentId == new.agentId && taskId == new.taskId
            && operation == new.operation && grants == new.grants
    }
}
