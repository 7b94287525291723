import ReinCatalog

/// Expands IAM action patterns against the catalog, so the linter's rules
/// see `s3:Get*` as the sixty-odd concrete actions it allows today rather
/// than as a string.
struct LintActionIndex: Sendable {
    let catalog: ServiceCatalog

    /// What one action pattern of a statement covers.
    enum Coverage: Equatable {
        /// The service part is a wildcard (`*`, `*:Get*`, `s3*:List*`): the
        /// IAM prefixes it reaches, sorted.
        case services([String])
        /// One service: the concrete actions (`s3:GetObject`) the pattern
        /// matches, sorted; empty when the catalog knows none.
        case actions(prefix: String, [String])
    }

    /// `service:action` split at the first colon; a colon-less pattern made
    /// only of wildcards (`*`) means every action of every service.
    static func split(_ pattern: String) -> (service: Substring, action: Substring)? {
        if let colon = pattern.firstIndex(of: ":") {
            return (pattern[..<colon], pattern[pattern.index(after: colon)...])
        }
        return isAllWildcard(pattern) ? (pattern[...], pattern[...]) : nil
    }

    /// True for `*`, `**`, ...: text that matches anything.
    static func isAllWildcard<S: StringProtocol>(_ text: S) -> Bool {
        !text.isEmpty && text.allSatisfy { $0 == "*" }
    }

    static func hasWildcard<S: StringProtocol>(_ text: S) -> Bool {
        text.contains("*") || text.contains("?")
    }

    func coverage(of pattern: String) -> Coverage {
        guard let (service, action) = Self.split(pattern) else { return .actions(prefix: pattern, []) }
        if Self.hasWildcard(service) {
            let matcher = WildcardPattern(String(service), caseInsensitive: true)
            return .services(catalog.iamPrefixes.filter(matcher.matches).sorted())
        }
        let prefix = service.lowercased()
        let matcher = WildcardPattern(String(action), caseInsensitive: true)
        let names = catalog.iamActions(prefix: prefix).filter(matcher.matches).sorted()
        return .actions(prefix: prefix, names.map { "\(prefix):\($0)" })
    }

    /// Resolves a table of action names and patterns to concrete actions.
    /// Literal names are kept even when the catalog lacks them (see
    /// `LintActionTables`); patterns keep only what the catalog has.
    func resolve(_ table: [String]) -> [String] {
        var out = Set<String>()
        for entry in table {
            switch coverage(of: entry) {
            case .actions(_, let names) where !names.isEmpty: out.formUnion(names)
            case .actions, .services:
                if !Self.hasWildcard(entry) { out.insert(entry) }
            }
        }
        return out.sorted()
    }

    /// The actions of an IAM prefix that can be scoped to resource ARNs;
    /// the others (e.g. `s3:ListAllMyBuckets`) only accept `*`.
    func resourceScopedActions(prefix: String) -> Set<String> {
        var scoped = Set<String>()
        for entry in catalog.entries where entry.iamPrefix == prefix {
            guard let model = catalog.service(named: entry.name) else { continue }
            for (action, types) in model.iamActionResourceTypes where !types.isEmpty {
                scoped.insert("\(prefix):\(action)")
            }
        }
        return scoped
    }

    /// Whether a statement's `*` resource is a choice rather than a necessity:
    /// some action it allows could have been scoped to ARNs. Unknown actions
    /// count as unscoped (the validator reports them).
    func anyResourceScoped(_ coverages: [Coverage]) -> Bool {
        for c in coverages {
            switch c {
            case .services(let prefixes): if !prefixes.isEmpty { return true }
            case .actions(let prefix, let names):
                guard !names.isEmpty else { continue }
                let scoped = resourceScopedActions(prefix: prefix)
                if names.contains(where: scoped.contains) { return true }
            }
        }
        return false
    }
}
