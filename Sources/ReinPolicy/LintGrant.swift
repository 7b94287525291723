/// An `allow` or `hold` statement as the linter's rules see it: its action
/// patterns compiled once, minus what an unconditional `deny` on `*` takes
/// away, so "does it grant `iam:PassRole`?" is a plain question.
struct LintGrant: Sendable {
    let statement: Statement
    /// Position in the document, to name the first statement of a path.
    let order: Int
    private let patterns: [WildcardPattern]
    private let denials: [WildcardPattern]

    init(statement: Statement, order: Int, denials: [WildcardPattern]) {
        self.statement = statement
        self.order = order
        patterns = statement.actions.map { WildcardPattern($0, caseInsensitive: true) }
        self.denials = denials
    }

    var isHold: Bool { statement.effect == .hold }

    /// Whether the statement grants this concrete action (`iam:PassRole`).
    func grants(_ action: String) -> Bool {
        patterns.contains { $0.matches(action) } && !denials.contains { $0.matches(action) }
    }

    /// The concrete actions of a table that the statement grants, in table order.
    func granted(_ actions: [String]) -> [String] { actions.filter(grants) }

    /// A rule's severity for this statement: one lower for `hold`.
    func severity(_ base: PolicyProblem.Severity) -> PolicyProblem.Severity {
        isHold ? base.lowered : base
    }

    /// How messages name the statement: `allow statement 'read-reports'`.
    var subject: String { "\(statement.effect.rawValue) statement '\(statement.id)'" }
}
