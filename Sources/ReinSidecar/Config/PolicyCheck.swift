import ReinCatalog
import ReinPolicy

/// Whether a policy text can be applied on this sidecar: a central version
/// fetched from the collector, or `policy_file` read again on SIGHUP.
///
/// Why one check for both: the two ways in must not disagree on what a
/// sidecar accepts. A version that does not load, is for another agent, or
/// names what this build's catalog does not know is refused. One whose task
/// window has passed (or not begun) is accepted as it is: its window denies
/// every call, which is what its author asked for.
enum PolicyCheck {
    struct Accepted {
        let document: PolicyDocument
        /// The task window's problems (`REIN-V006`): applied, but worth a warning.
        let windowProblems: [PolicyProblem]
    }

    struct Refused: Error {
        let reason: String
        /// The loaded document when it is this agent's (the central path enforces its refusal with it).
        let document: PolicyDocument?
    }

    static func check(_ text: String, agentId: String, catalog: ServiceCatalog, now: Int64) -> Result<Accepted, Refused> {
        let loaded = PolicyLoader.load(text)
        guard let next = loaded.document else {
            return .failure(Refused(reason: "it does not load: " + loaded.problems.map { "\($0)" }.joined(separator: "; "), document: nil))
        }
        guard next.agent.id == agentId else {
            return .failure(Refused(reason: "it is for agent \(next.agent.id), this sidecar serves \(agentId)", document: nil))
        }
        let errors = PolicyValidator(catalog: catalog).validate(next, now: now).filter { $0.severity == .error }
        if !errors.isEmpty, !errors.allSatisfy({ $0.rule == "REIN-V006" }) {
            return .failure(Refused(reason: "it is invalid here: " + errors.map { "\($0)" }.joined(separator: "; "), document: next))
        }
        return .success(Accepted(document: next, windowProblems: errors))
    }
}
