import ReinCatalog
import ReinHolds

/// A call the policy marked `hold`, waiting for a person.
public struct HoldRequest: Sendable {
    public let agentId: String
    public let taskId: String
    public let operation: String
    public let grants: [ActionResources]
    public let statementId: String?
    /// The policy's reason for holding (which statement, which action).
    public let reason: String?
    /// ``HoldIdentity`` of the request: its retries have the same key.
    public let key: String
    public let summary: HoldSummary
    public let service: String?
    public let region: String?
    public let accessKeyId: String?

    public var holdGrants: [HoldGrantItem] { grants.map { HoldGrantItem(action: $0.action, resources: $0.resources) } }
}

/// What the hold gate decided about one held request.
public enum HoldResolution: Sendable {
    /// Forward it. `consume` is true for a one-shot approval, which the
    /// request must claim (``HoldGate/consume(holdId:completion:)``) just
    /// before forwarding, so that exactly one call uses it.
    case approved(holdId: String, approver: String, grantId: String?, reason: String?, consume: Bool)
    case denied(holdId: String, approver: String?, reason: String)
    /// No decision within `holds.expire`: counts as denied.
    case expired(holdId: String)
    /// Still undecided after `holds.wait`: the agent gets a retryable error,
    /// and its retry attaches to the same hold.
    case pending(holdId: String, retryAfterSeconds: Int)
    /// The hold could not be registered or checked (the collector is down):
    /// a retryable error, and nothing is forwarded.
    case unavailable(reason: String)
}

/// The one interface held requests go through (``HoldKeeper`` over a
/// ``HoldLedger``); ``DenyingHoldGate`` when no approvers are configured.
public protocol HoldGate: Sendable {
    /// Called once per held request; `registered` gets the hold's id as soon
    /// as it exists (so that a call the agent abandons is recorded with it),
    /// `completion` the resolution. Both may run on any thread.
    func submit(_ request: HoldRequest, registered: @escaping @Sendable (String) -> Void,
                completion: @escaping @Sendable (HoldResolution) -> Void)
    /// Claims a one-shot approval for the request about to be forwarded;
    /// false when another request already used it.
    func consume(holdId: String, completion: @escaping @Sendable (Bool) -> Void)
}

/// Denies every hold immediately, naming why: with no approvers anywhere, a
/// `hold` statement fails closed instead of waiting for nobody.
public struct DenyingHoldGate: HoldGate {
    public init() {}

    public func submit(_ request: HoldRequest, registered: @escaping @Sendable (String) -> Void,
                       completion: @escaping @Sendable (HoldResolution) -> Void) {
        completion(.denied(holdId: "-", approver: nil,
                           reason: "it needs a human approval (statement \(request.statementId ?? "-") says hold) and no approvers are configured (set holds.tokens, or a collector)"))
    }

    public func consume(holdId: String, completion: @escaping @Sendable (Bool) -> Void) {
        completion(false)
    }
}
