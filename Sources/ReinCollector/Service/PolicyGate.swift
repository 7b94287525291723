import Foundation
import ReinCatalog
import ReinPolicy

/// What a pushed policy must pass before it becomes a version: it loads,
/// validates (actions, ARNs, condition keys, expiry), names the agent it is
/// pushed for, and has no error-level lint finding unless the push gives a
/// reason to override.
///
/// Why the same checks as `rein policy validate` and `lint`: an admin who
/// ran them locally gets the same verdict from the collector.
public struct PolicyGate: Sendable {
    public struct Finding: Sendable, Equatable {
        public var severity: String
        public var rule: String
        public var message: String
        public var title: String?
        public var statementId: String?
        public var line: Int?
        public var column: Int?
        public var remediation: String?
    }

    public enum Verdict: Sendable, Equatable {
        /// Accept; `findings` are the warnings and notes (and overridden errors).
        case accepted(findings: [Finding])
        /// The document does not load or validate, or names another agent.
        case invalid(message: String, findings: [Finding])
        /// Error-level lint findings and no reason to override them.
        case blockedByLint(findings: [Finding])
    }

    private let validator: PolicyValidator
    private let linter: PolicyLinter

    public init(catalog: ServiceCatalog) {
        validator = PolicyValidator(catalog: catalog)
        linter = PolicyLinter(catalog: catalog)
    }

    /// A stored version's document and its lint findings (`now` in epoch
    /// seconds), for framework reports; nil when it no longer loads.
    public func lint(_ text: String, now: Int64) -> (document: PolicyDocument, findings: [LintFinding])? {
        guard let document = PolicyLoader.load(text).document else { return nil }
        return (document, linter.lint(document, now: now))
    }

    /// Checks `text` pushed for `agent` at `now` (epoch seconds).
    public func check(_ text: String, agent: String, forceReason: String?, now: Int64) -> Verdict {
        let loaded = PolicyLoader.load(text)
        let loadFindings = loaded.problems.map(Self.finding)
        guard let document = loaded.document else {
            return .invalid(message: "the policy does not load", findings: loadFindings)
        }
        guard document.agent.id == agent else {
            return .invalid(message: "the policy's agent.id is '\(document.agent.id)', but it was pushed for '\(agent)'", findings: loadFindings)
        }
        let problems = validator.validate(document, now: now)
        let validation = loadFindings + problems.map(Self.finding)
        if problems.contains(where: { $0.severity == .error }) {
            return .invalid(message: "the policy has validation errors", findings: validation)
        }
        let lint = linter.lint(document, now: now).map(Self.finding)
        let overridable = forceReason.map { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } ?? false
        if lint.contains(where: { $0.severity == "error" }), !overridable {
            return .blockedByLint(findings: validation + lint)
        }
        return .accepted(findings: validation + lint)
    }

    static func finding(_ p: PolicyProblem) -> Finding {
        Finding(severity: p.severity.rawValue, rule: p.rule, message: p.message, title: nil, statementId: nil,
                line: p.location?.line, column: p.location?.column, remediation: nil)
    }

    static func finding(_ f: LintFinding) -> Finding {
        Finding(severity: f.severity.rawValue, rule: f.rule, message: f.message, title: f.title, statementId: f.statementId,
                line: f.location?.line, column: f.location?.column, remediation: f.remediation)
    }
}
