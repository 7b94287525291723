/// What a reload of the configuration changed in the collector's API tokens,
/// by name: the `token-change` event and the log say it.
public struct TokenChange: Sendable, Equatable {
    public var added: [String] = []
    public var removed: [String] = []
    /// Same name, another hash, roles, agents or sidecar ids.
    public var changed: [String] = []

    public init(from old: [CollectorToken], to new: [CollectorToken]) {
        let before = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        added = after.keys.filter { before[$0] == nil }.sorted()
        removed = before.keys.filter { after[$0] == nil }.sorted()
        changed = after.keys.filter { name in before[name].map { $0 != after[name] } ?? false }.sorted()
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

    /// "added a, b; removed c; changed d".
    public var summary: String {
        var parts: [String] = []
        if !added.isEmpty { parts.append("added \(added.joined(separator: ", "))") }
        if !removed.isEmpty { parts.append("removed \(removed.joined(separator: ", "))") }
        if !changed.isEmpty { parts.append("changed \(changed.joined(separator: ", "))") }
        return parts.isEmpty ? "no change" : parts.joined(separator: "; ")
    }
}
