/// One risk `PolicyLinter` found in a policy: which rule, how bad, where,
/// and what to change.
///
/// A finding is not a `PolicyProblem`: problems make a policy unusable,
/// findings are judgements about a valid policy, and they carry a title and
/// a remediation for reports (SARIF, terminal) that problems do not need.
public struct LintFinding: Sendable, Equatable, CustomStringConvertible {
    public let severity: PolicyProblem.Severity
    /// Stable rule id such as `REIN-L001` (see `LintRule.all`).
    public let rule: String
    /// The rule's short name, e.g. "Full access".
    public let title: String
    public let message: String
    /// The statement the finding is about; nil for findings about the whole
    /// document, such as a missing expiry.
    public let statementId: String?
    public let location: SourceLocation?
    public let remediation: String

    public init(severity: PolicyProblem.Severity, rule: String, title: String, message: String,
                statementId: String?, location: SourceLocation?, remediation: String) {
        self.severity = severity
        self.rule = rule
        self.title = title
        self.message = message
        self.statementId = statementId
        self.location = location
        self.remediation = remediation
    }

    init(_ rule: LintRule, _ severity: PolicyProblem.Severity, _ message: String, statement: Statement?,
         remediation: String? = nil) {
        self.init(severity: severity, rule: rule.id, title: rule.title, message: message,
                  statementId: statement?.id, location: statement?.location,
                  remediation: remediation ?? rule.remediation)
    }

    public var description: String {
        "\(location.map { "\($0): " } ?? "")\(severity.rawValue) \(rule) \(title): \(message)"
    }

    /// Report order: by position in the file (document-wide findings first),
    /// then rule, then message, so output is stable across runs.
    static func reportOrder(_ a: LintFinding, _ b: LintFinding) -> Bool {
        let la = a.location.map { ($0.line, $0.column) } ?? (0, 0)
        let lb = b.location.map { ($0.line, $0.column) } ?? (0, 0)
        if la != lb { return la < lb }
        if a.rule != b.rule { return a.rule < b.rule }
        return a.message < b.message
    }
}
