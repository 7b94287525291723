import ReinCatalog

/// A call the policy marked `hold`, waiting for a person.
public struct HoldRequest: Sendable {
    public let agentId: String
    public let taskId: String
    public let operation: String
    public let grants: [ActionResources]
    public let statementId: String?
}

/// A person's answer to a hold.
public enum HoldResolution: Sendable, Equatable {
    case approved(approver: String)
    case denied(reason: String)
}

/// The one interface holds go through. The holds issue implements it with
/// durable hold records and approvers; until then ``DenyingHoldGate``
/// answers every hold with a denial, so a `hold` statement fails closed.
public protocol HoldGate: Sendable {
    /// Called once per held request; `completion` may run on any thread.
    func submit(_ request: HoldRequest, completion: @escaping @Sendable (HoldResolution) -> Void)
}

/// Denies every hold immediately, naming why.
public struct DenyingHoldGate: HoldGate {
    public init() {}

    public func submit(_ request: HoldRequest, completion: @escaping @Sendable (HoldResolution) -> Void) {
        completion(.denied(reason: "it needs a human approval (statement \(request.statementId ?? "-") says hold) and no approval service is configured"))
    }
}
