import ReinCatalog

/// Semantic checks of a loaded policy against AWS knowledge (the catalog):
/// actions that do not exist, malformed ARNs, resource patterns that can
/// never match their actions' resource types, condition keys Rein cannot
/// evaluate, and expiries that make no sense.
public struct PolicyValidator: Sendable {
    public let catalog: ServiceCatalog

    public init(catalog: ServiceCatalog) {
        self.catalog = catalog
    }

    /// Condition keys Rein evaluates; anything else could never be checked
    /// the way the author expects, so it is an error.
    public static let supportedConditionKeys: Set<String> = [
        "aws:RequestedRegion", "aws:CurrentTime", "aws:EpochTime", "aws:SourceIp", "aws:SecureTransport",
        "s3:prefix", "s3:max-keys", "s3:delimiter", "dynamodb:LeadingKeys",
        "rein:AgentId", "rein:TaskId", "rein:Mode",
    ]

    public func validate(_ document: PolicyDocument, now: Int64) -> [PolicyProblem] {
        var problems: [PolicyProblem] = []
        if let after = document.task.notAfter, after <= now {
            problems.append(PolicyProblem(.error, "REIN-V006", "task \(document.task.id) expired at \(after.iso8601)", at: nil))
        }
        if let before = document.task.notBefore, let after = document.task.notAfter, before >= after {
            problems.append(PolicyProblem(.error, "REIN-V006", "notBefore (\(before.iso8601)) is not before notAfter (\(after.iso8601))", at: nil))
        }
        var actionsCache: [String: Set<String>] = [:]
        for statement in document.statements {
            var concrete: [String] = []
            for action in statement.actions {
                let (problem, expanded) = checkAction(action, statement: statement, cache: &actionsCache)
                if let problem { problems.append(problem) }
                concrete += expanded
            }
            for resource in statement.resources {
                if let problem = checkResource(resource, statement: statement) {
                    problems.append(problem)
                    continue
                }
                if let problem = checkReachable(resource, actions: concrete, statement: statement) { problems.append(problem) }
            }
            for condition in statement.conditions where !Self.supportedConditionKeys.contains(condition.key) {
                problems.append(PolicyProblem(.error, "REIN-V004",
                    "condition key '\(condition.key)' in '\(statement.id)' is not one Rein evaluates (supported: \(Self.supportedConditionKeys.sorted().joined(separator: ", ")))",
                    at: condition.location ?? statement.location))
            }
        }
        return problems
    }

    /// An action must name a known IAM prefix and match at least one real action.
    func checkAction(_ action: String, statement: Statement, cache: inout [String: Set<String>]) -> (PolicyProblem?, [String]) {
        if action == "*" { return (nil, []) }
        let parts = action.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[1].isEmpty else {
            return (PolicyProblem(.error, "REIN-V001", "action '\(action)' in '\(statement.id)' is not of the form service:Action", at: statement.location), [])
        }
        let prefix = parts[0].lowercased()
        let known: Set<String>
        if let hit = cache[prefix] { known = hit } else {
            known = catalog.iamActions(prefix: prefix)
            cache[prefix] = known
        }
        guard !known.isEmpty else {
            return (PolicyProblem(.error, "REIN-V001", "'\(prefix)' in '\(action)' (statement '\(statement.id)') is not an IAM service prefix", at: statement.location), [])
        }
        let pattern = WildcardPattern(String(parts[1]), caseInsensitive: true)
        let matches = known.filter { pattern.matches($0) }.map { "\(prefix):\($0)" }
        guard !matches.isEmpty else {
            let near = Self.suggestions(for: parts[1].lowercased(), among: known).map { "\(prefix):\($0)" }
            let hint = near.isEmpty ? "" : " (did you mean \(near.joined(separator: ", "))?)"
            let message = "'\(action)' in '\(statement.id)' matches no \(prefix) action" + hint
            return (PolicyProblem(.error, "REIN-V001", message, at: statement.location), [])
        }
        return (nil, matches.sorted())
    }

    /// The closest action names, by edit distance.
    static func suggestions(for wanted: String, among known: Set<String>) -> [String] {
        let limit = max(2, wanted.count / 4)
        var scored: [(name: String, distance: Int)] = []
        for name in known {
            let d = editDistance(name.lowercased(), wanted)
            if d <= limit { scored.append((name, d)) }
        }
        scored.sort { $0.distance != $1.distance ? $0.distance < $1.distance : $0.name < $1.name }
        return scored.prefix(3).map(\.name)
    }

    /// Levenshtein distance, for "did you mean" suggestions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x.isEmpty { return y.count }
        var row = Array(0...y.count)
        for i in 1...x.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return row[y.count]
    }

    /// `*` or `arn:partition:service:region:account:resource`.
    func checkResource(_ resource: String, statement: Statement) -> PolicyProblem? {
        if resource == "*" { return nil }
        let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else {
            return PolicyProblem(.error, "REIN-V002",
                "resource '\(resource.prefix(200))' in '\(statement.id)' is not an ARN (arn:partition:service:region:account:resource) or *",
                at: statement.location)
        }
        let account = parts[4]
        if !account.isEmpty, account != "*", !(account.count == 12 && account.allSatisfy(\.isNumber)), !account.contains("*"), !account.contains("?") {
            return PolicyProblem(.error, "REIN-V002", "resource '\(resource)' in '\(statement.id)' has an account '\(account)' that is not 12 digits", at: statement.location)
        }
        return nil
    }

    /// A resource pattern paired only with actions whose resource types it
    /// can never match is a mistake (it grants nothing).
    func checkReachable(_ resource: String, actions: [String], statement: Statement) -> PolicyProblem? {
        guard resource != "*", !actions.isEmpty else { return nil }
        var anyTemplates = false
        for action in actions {
            let templates = catalog.resourceTemplates(action: action)
            if templates.isEmpty { continue }
            anyTemplates = true
            if templates.contains(where: { Self.mayOverlap(resource, template: $0) }) { return nil }
        }
        guard anyTemplates else {
            return PolicyProblem(.warning, "REIN-V003",
                "'\(resource)' in '\(statement.id)' is paired only with actions that take no resource (they need Resource \"*\")",
                at: statement.location)
        }
        return PolicyProblem(.error, "REIN-V003",
            "'\(resource)' in '\(statement.id)' can never match the resource types of \(actions.prefix(3).joined(separator: ", "))\(actions.count > 3 ? ", ..." : "")",
            at: statement.location)
    }

    /// Whether an ARN pattern could name a resource of a template's type:
    /// same service, and the pattern's resource part is compatible with the
    /// template's literal resource-type prefix (e.g. "table/").
    static func mayOverlap(_ pattern: String, template: String) -> Bool {
        let p = pattern.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        let t = template.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard p.count == 6, t.count == 6 else { return false }
        if !WildcardPattern(String(p[2])).matches(String(t[2])) && !p[2].contains("*") { return false }
        // The template's literal resource prefix, up to its first variable.
        let tResource = t[5]
        let literal = tResource.prefix { $0 != "$" }
        let pResource = p[5]
        let pLiteral = pResource.prefix { $0 != "*" && $0 != "?" }
        let n = min(literal.count, pLiteral.count)
        return literal.prefix(n) == pLiteral.prefix(n)
    }
}

extension Int64 {
    var iso8601: String {
        let s = ReinSigV4Bridge.format(self)
        return s
    }
}
