import ReinCatalog

/// Decides requests against one task policy, compiled once when loaded:
/// actions are indexed by exact name and patterns are precompiled, so a
/// decision parses and compiles nothing.
///
/// Semantics: an explicit `deny` wins, then `hold`, then `allow`; the
/// default is deny. A request is allowed only if every (action, resource)
/// pair it carries is allowed. An unknown catalog verdict and an expired
/// task deny everything. A reload swaps the whole evaluator (it is
/// immutable), so an in-flight decision sees one policy, never a mix.
public final class PolicyEvaluator: Sendable {
    public let document: PolicyDocument
    /// Why this policy could not be applied (a central version this
    /// sidecar's catalog cannot validate): every request is denied with it.
    public let refusal: String?
    private let statements: [CompiledStatement]
    /// Lower-cased literal action → indices of statements naming it.
    private let byAction: [String: [Int]]
    /// Statements with at least one wildcard action.
    private let wildcardStatements: [Int]

    struct CompiledStatement: Sendable {
        let statement: Statement
        let actions: [WildcardPattern]
        let resources: [WildcardPattern]
        let conditions: [ConditionMatcher]

        /// `action` is lower-cased (actions compare case-insensitively).
        func matches(action: String, resource: String, context: ConditionContext) -> Bool {
            actions.contains { $0.matchesPrepared(action) } && resources.contains { $0.matchesPrepared(resource) }
                && conditions.allSatisfy { $0.holds(in: context) }
        }
    }

    public init(_ document: PolicyDocument, refusal: String? = nil) {
        self.document = document
        self.refusal = refusal
        var compiled: [CompiledStatement] = []
        var byAction: [String: [Int]] = [:]
        var wildcards: [Int] = []
        for (i, s) in document.statements.enumerated() {
            let actions = s.actions.map { WildcardPattern($0, caseInsensitive: true) }
            compiled.append(CompiledStatement(statement: s, actions: actions,
                                              resources: s.resources.map { WildcardPattern($0) },
                                              conditions: s.conditions.map(ConditionMatcher.init)))
            for a in actions {
                if a.isLiteral { byAction[a.text.lowercased(), default: []].append(i) } else if wildcards.last != i { wildcards.append(i) }
            }
        }
        statements = compiled
        self.byAction = byAction
        wildcardStatements = wildcards
    }

    public func decide(_ request: DecisionRequest) -> Decision {
        if let refusal { return Decision(effect: .deny, statementId: nil, reason: refusal) }
        let task = document.task
        if let after = task.notAfter, request.context.now > after {
            return Decision(effect: .deny, statementId: nil, reason: "task \(task.id) expired at \(after.iso8601)")
        }
        if let before = task.notBefore, request.context.now < before {
            return Decision(effect: .deny, statementId: nil, reason: "task \(task.id) does not start until \(before.iso8601)")
        }
        guard case .known(let resolved) = request.verdict else {
            if case .unknown(let why) = request.verdict {
                return Decision(effect: .deny, statementId: nil, reason: "Rein cannot fully understand this request (\(why.message)), so it is denied")
            }
            return Decision(effect: .deny, statementId: nil, reason: "unknown request")
        }
        var firstAllow: Decision?
        var firstHold: Decision?
        for grant in resolved.grants {
            for resource in grant.resources {
                let pair = decide(action: grant.action, resource: resource, context: request.context)
                switch pair.effect {
                case .deny: return pair
                case .hold: if firstHold == nil { firstHold = pair }
                case .allow: if firstAllow == nil { firstAllow = pair }
                }
            }
        }
        return firstHold ?? firstAllow ?? Decision(effect: .deny, statementId: nil, reason: "the request names no action")
    }

    /// One (action, resource) pair.
    public func decide(action: String, resource: String, context: ConditionContext) -> Decision {
        let lowered = action.lowercased()
        let literal = byAction[lowered] ?? []
        var hold: Int?, allow: Int?
        for i in [literal, wildcardStatements].joined() {
            let s = statements[i]
            guard s.matches(action: lowered, resource: resource, context: context) else { continue }
            switch s.statement.effect {
            case .deny:
                return Decision(effect: .deny, statementId: s.statement.id,
                                reason: "statement \(s.statement.id) denies \(action) on \(resource)", action: action, resource: resource)
            case .hold: if hold.map({ i < $0 }) ?? true { hold = i }
            case .allow: if allow.map({ i < $0 }) ?? true { allow = i }
            }
        }
        if let hold {
            let id = statements[hold].statement.id
            return Decision(effect: .hold, statementId: id, reason: "statement \(id) requires a person to approve \(action) on \(resource)",
                            action: action, resource: resource)
        }
        if let allow {
            let id = statements[allow].statement.id
            return Decision(effect: .allow, statementId: id, reason: "statement \(id) allows \(action) on \(resource)",
                            action: action, resource: resource)
        }
        return Decision(effect: .deny, statementId: nil,
                        reason: "no statement of task \(document.task.id) allows \(action) on \(resource)", action: action, resource: resource)
    }
}
