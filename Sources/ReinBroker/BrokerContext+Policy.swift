import Foundation
import ReinPolicy

extension BrokerContext {
    /// The context for a task allowlist: its agent and task ids, its
    /// `notAfter` as the expiry, and a session policy compiled from it within
    /// whatever character budget the broker asks for.
    public init(policy: PolicyDocument) {
        let expiry = policy.task.notAfter.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        self.init(agentId: policy.agent.id, taskId: policy.task.id, taskExpiry: expiry,
                  sessionPolicy: BrokerContext.compiledSessionPolicy(policy))
    }

    /// A session-policy closure over ``SessionPolicyCompiler``.
    public static func compiledSessionPolicy(_ policy: PolicyDocument) -> SessionPolicy {
        { (maxCharacters: Int) throws(BrokerError) -> String? in
            do {
                return try SessionPolicyCompiler(maxCharacters: maxCharacters).compile(policy).json
            } catch {
                throw BrokerError(provider: "assume_role", kind: .sessionPolicy,
                                  message: "the allowlist does not fit a session policy of \(maxCharacters) characters: \(error)")
            }
        }
    }
}
