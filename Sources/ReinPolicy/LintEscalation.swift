/// The privilege-escalation check: unlike the other rules it looks at the
/// union of everything the document grants, because a path such as
/// iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction is just as
/// open when its actions sit in three different statements.
enum LintEscalation {
    /// One finding per first statement of the complete paths, listing them.
    /// A path complete with `allow` statements alone is an error; one that
    /// needs a `hold` statement is a warning (a human sees that call).
    static func findings(_ grants: [LintGrant]) -> [LintFinding] {
        struct Key: Hashable { let order: Int; let hold: Bool }
        var groups: [Key: [String]] = [:]
        for path in LintActionTables.escalationPaths {
            let providers = path.actions.map { action in grants.filter { $0.grants(action) } }
            guard providers.allSatisfy({ !$0.isEmpty }) else { continue }
            let allowOnly = providers.allSatisfy { $0.contains { !$0.isHold } }
            // The statement that provides each action: an allow one when the
            // path is complete without holds, else the first in the document.
            let chosen = providers.compactMap { list in allowOnly ? list.first { !$0.isHold } : list.first }
            guard let anchor = chosen.min(by: { $0.order < $1.order }) else { continue }
            let parts = zip(path.actions, chosen).map { action, grant in
                grant.order == anchor.order ? action : "\(action) (from '\(grant.statement.id)')"
            }
            groups[Key(order: anchor.order, hold: !allowOnly), default: []]
                .append("\(path.name): \(parts.joined(separator: " + "))")
        }
        return groups.keys.sorted { ($0.order, $0.hold ? 1 : 0) < ($1.order, $1.hold ? 1 : 0) }.compactMap { key in
            guard let anchor = grants.first(where: { $0.order == key.order }), let paths = groups[key] else { return nil }
            let how = key.hold ? ", counting hold statements," : ""
            let what = paths.count == 1 ? "a privilege-escalation path" : "\(paths.count) privilege-escalation paths"
            return LintFinding(.privilegeEscalation, key.hold ? .warning : .error,
                               "\(anchor.subject)\(how) completes \(what): \(paths.joined(separator: "; "))",
                               statement: anchor.statement)
        }
    }
}
