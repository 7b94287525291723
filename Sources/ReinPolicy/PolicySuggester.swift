import Foundation

/// Turns observed calls into the minimal task-scoped allowlist that would
/// have allowed them: exact actions on exact ARNs, one statement per group
/// of actions used on the same resources, and ARN prefixes only when asked.
public struct PolicySuggester: Sendable {
    public var mergePrefixes: Bool
    public init(mergePrefixes: Bool = false) {
        self.mergePrefixes = mergePrefixes
    }

    public struct InputError: Error, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Reads JSONL; blank lines are skipped, a malformed line is an error.
    public static func read(jsonl text: String) throws(InputError) -> [ObservedCall] {
        var calls: [ObservedCall] = []
        let decoder = JSONDecoder()
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do { calls.append(try decoder.decode(ObservedCall.self, from: Data(trimmed.utf8))) } catch {
                throw InputError(line: i + 1, message: "not an audit record: \(error)")
            }
        }
        return calls
    }

    /// The decisions a suggestion allows: calls that ran (`allow`, learn
    /// mode included) and would-denies (observe mode). Denials, errors and
    /// every held call are left out, approved or not: a person's one-off
    /// decision never becomes a standing grant (keep the hold statement).
    public static let suggestedDecisions: Set<String> = ["allow", "would-deny"]

    /// The suggested document: the calls whose decision is one of
    /// ``suggestedDecisions`` (or names none, as in hand-written input).
    public func suggest(_ calls: [ObservedCall], agent: PolicyDocument.Agent, task: PolicyDocument.Task) -> PolicyDocument {
        var resourcesByAction: [String: Set<String>] = [:]
        for call in calls where call.decision.map(Self.suggestedDecisions.contains) ?? true {
            for grant in call.grants {
                resourcesByAction[grant.action, default: []].formUnion(grant.resources)
            }
        }
        // Actions used on exactly the same resources share a statement.
        var groups: [[String]: [String]] = [:]
        for (action, resources) in resourcesByAction {
            var list = resources.sorted()
            if list.contains("*") { list = ["*"] }
            if mergePrefixes { list = SessionPolicyCompiler.mergePrefixes(list) }
            groups[list, default: []].append(action)
        }
        let statements = groups.map { resources, actions -> Statement in
            let sortedActions = actions.sorted()
            let prefix = sortedActions.first.flatMap { $0.split(separator: ":").first.map(String.init) } ?? "aws"
            return Statement(id: "", effect: .allow, actions: sortedActions, resources: resources)
                .withId("\(prefix)-\(sortedActions.first?.split(separator: ":").last.map(String.init)?.lowercased() ?? "call")")
        }
        .sorted { ($0.actions.first ?? "", $0.resources.first ?? "") < ($1.actions.first ?? "", $1.resources.first ?? "") }
        var seen: [String: Int] = [:]
        let unique = statements.map { s -> Statement in
            let n = seen[s.id, default: 0]
            seen[s.id] = n + 1
            return n == 0 ? s : s.withId("\(s.id)-\(n + 1)")
        }
        return PolicyDocument(agent: agent, task: task, mode: .enforce, statements: unique)
    }

    /// The document as YAML in Rein's policy format.
    public static func yaml(_ d: PolicyDocument) -> String {
        func q(_ s: String) -> String {
            let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(escaped)\""
        }
        var out = "# Suggested by `rein policy suggest` from observed calls: review before use.\n"
        out += "apiVersion: \(PolicyDocument.apiVersion)\nkind: \(PolicyDocument.kind)\n"
        out += "agent:\n  id: \(q(d.agent.id))\n  owner: \(q(d.agent.owner))\n"
        out += "task:\n  id: \(q(d.task.id))\n  purpose: \(q(d.task.purpose))\n"
        if let nb = d.task.notBefore { out += "  notBefore: \(nb.iso8601)\n" }
        if let na = d.task.notAfter { out += "  notAfter: \(na.iso8601)\n" }
        out += "mode: \(d.mode.rawValue)\nstatements:\n"
        for s in d.statements {
            out += "  - id: \(q(s.id))\n    effect: \(s.effect.rawValue)\n"
            out += "    actions: [\(s.actions.map(q).joined(separator: ", "))]\n"
            out += "    resources:\n" + s.resources.map { "      - \(q($0))\n" }.joined()
        }
        return out
    }
}

extension Statement {
    func withId(_ id: String) -> Statement {
        var copy = self
        copy.id = id
        return copy
    }
}
