import ReinCatalog

/// The evaluator's answer for one request, with the statement that decided
/// it and a one-line reason for the AWS error message and the audit record.
public struct Decision: Sendable, Equatable {
    public enum Effect: String, Sendable, Equatable {
        case allow, deny, hold
    }

    public let effect: Effect
    /// The statement that decided (nil for an implicit deny).
    public let statementId: String?
    public let reason: String
    /// The (action, resource) pair the decision turned on.
    public let action: String?
    public let resource: String?

    public init(effect: Effect, statementId: String?, reason: String, action: String? = nil, resource: String? = nil) {
        self.effect = effect
        self.statementId = statementId
        self.reason = reason
        self.action = action
        self.resource = resource
    }
}

/// What the evaluator needs: the catalog's verdict and the request context
/// that condition keys read.
public struct DecisionRequest: Sendable {
    public let verdict: CatalogVerdict
    public let context: ConditionContext

    public init(verdict: CatalogVerdict, context: ConditionContext) {
        self.verdict = verdict
        self.context = context
    }
}

/// Condition key values for one request. Keys are IAM condition keys such
/// as `aws:RequestedRegion`; a key that is absent is absent (IfExists).
public struct ConditionContext: Sendable, Equatable {
    public var values: [String: [String]]
    /// The time the request is decided at, seconds since the epoch.
    public var now: Int64

    public init(now: Int64, values: [String: [String]] = [:]) {
        self.now = now
        self.values = values
    }

    /// The standard context of a request: region, time, and Rein's own keys.
    public static func standard(now: Int64, region: String, agentId: String, taskId: String, mode: PolicyMode,
                                sourceIp: String? = nil, extra: [String: [String]] = [:]) -> ConditionContext {
        var values: [String: [String]] = [
            "aws:RequestedRegion": [region], "aws:EpochTime": [String(now)], "aws:CurrentTime": [ReinSigV4Bridge.format(now)],
            "rein:AgentId": [agentId], "rein:TaskId": [taskId], "rein:Mode": [mode.rawValue],
        ]
        if let sourceIp { values["aws:SourceIp"] = [sourceIp] }
        values.merge(extra) { _, new in new }
        return ConditionContext(now: now, values: values)
    }
}
