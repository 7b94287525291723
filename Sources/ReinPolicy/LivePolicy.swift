import Synchronization

/// The policy a sidecar enforces right now. A reload compiles the new
/// document first and then swaps one reference, so a request in flight
/// decides entirely with the evaluator it took: the old policy or the new
/// one, never a mix. A policy that fails to load never replaces a good one.
public final class LivePolicy: Sendable {
    private let evaluator: Mutex<PolicyEvaluator>

    public init(_ document: PolicyDocument) {
        evaluator = Mutex(PolicyEvaluator(document))
    }

    /// The evaluator to use for one whole request.
    public var current: PolicyEvaluator { evaluator.withLock { $0 } }

    /// Installs a new policy (compiled before the swap).
    public func replace(with document: PolicyDocument) {
        let compiled = PolicyEvaluator(document)
        evaluator.withLock { $0 = compiled }
    }

    /// Installs `document` refused: every request is denied with `reason`
    /// (fail closed), and the document still names the agent and task.
    public func refuse(_ document: PolicyDocument, reason: String) {
        let compiled = PolicyEvaluator(document, refusal: reason)
        evaluator.withLock { $0 = compiled }
    }

    /// Loads and installs policy text; on any error the current policy stays.
    public func reload(_ text: String) -> [PolicyProblem] {
        let result = PolicyLoader.load(text)
        guard let document = result.document else { return result.problems }
        replace(with: document)
        return result.problems
    }
}
