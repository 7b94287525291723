import Foundation

/// Compiles a task allowlist into an IAM session policy for the broker's
/// AssumeRole, so that even a bug in Rein cannot exceed the allowlist at AWS.
///
/// The session policy must never be narrower than the allowlist (real calls
/// would break), so: allow and hold statements become Allow statements
/// without conditions (IAM cannot evaluate Rein's keys the same way, and
/// dropping a condition only widens); unconditioned deny statements are kept
/// (they deny the same things in both); conditioned denies are left out.
/// When the result exceeds STS's limit it is widened deterministically, one
/// level at a time, and each step is reported: ARNs merged into common
/// prefixes, then resources dropped to "*" per service (action level), then
/// each service's actions to "service:*". A wildcard action across all
/// services is never emitted.
public struct SessionPolicyCompiler: Sendable {
    /// STS's limit on an inline session policy, in characters (compact JSON).
    public static let maxCharacters = 2048

    public enum Level: Int, Sendable, Comparable, CaseIterable {
        case exact, mergedARNs, actionLevel, serviceLevel

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        var note: String {
            switch self {
            case .exact: return "exact: one statement per allowlist statement"
            case .mergedARNs: return "widened: resource ARNs merged into common prefixes"
            case .actionLevel: return "widened: resources set to \"*\" for each allowed action (action level)"
            case .serviceLevel: return "widened: actions set to \"service:*\" for each allowed service"
            }
        }
    }

    public struct Output: Sendable, Equatable {
        public let json: String
        public let level: Level
        public let notes: [String]
        /// The session policy as a document the evaluator can decide with.
        public let statements: [Statement]
    }

    public struct TooLarge: Error, CustomStringConvertible {
        public let characters: Int
        /// Set when the allowlist itself grants every action of every service.
        public var grantsEverything = false

        public var description: String {
            if grantsEverything {
                return "the allowlist grants every action (\"*\"); a session policy would have to as well, and Rein never emits that: narrow the allowlist"
            }
            return "even widened to service level the session policy has \(characters) characters (STS allows \(SessionPolicyCompiler.maxCharacters)); split the task"
        }
    }

    /// The character budget. STS also limits the policy's *packed* size (a
    /// compressed form, shared with session tags) that only STS can compute:
    /// when AssumeRole answers PackedPolicyTooLarge, the broker recompiles
    /// with a smaller budget, which widens the policy one level further.
    public let maxCharacters: Int

    public init(maxCharacters: Int = SessionPolicyCompiler.maxCharacters) {
        self.maxCharacters = min(maxCharacters, SessionPolicyCompiler.maxCharacters)
    }

    public func compile(_ document: PolicyDocument) throws(TooLarge) -> Output {
        if document.statements.contains(where: { $0.effect != .deny && $0.actions.contains { $0 == "*" || $0.hasPrefix("*:") } }) {
            throw TooLarge(characters: 0, grantsEverything: true)
        }
        var notes: [String] = []
        if document.statements.contains(where: { $0.effect == .deny && !$0.conditions.isEmpty }) {
            notes.append("conditioned deny statements are left out (an IAM session policy could only make them broader)")
        }
        if document.statements.contains(where: { $0.effect != .deny && !$0.conditions.isEmpty }) {
            notes.append("conditions of allow and hold statements are dropped (the session policy may only be wider)")
        }
        var last = 0
        for level in Level.allCases {
            let statements = self.statements(document, level: level)
            let json = Self.render(statements)
            last = json.count
            if json.count <= maxCharacters {
                return Output(json: json, level: level, notes: notes + [level.note], statements: statements)
            }
        }
        throw TooLarge(characters: last)
    }

    func statements(_ document: PolicyDocument, level: Level) -> [Statement] {
        let allows = document.statements.filter { $0.effect != .deny }
        let denies = document.statements.filter { $0.effect == .deny && $0.conditions.isEmpty }
            .map { Statement(id: $0.id, effect: .deny, actions: $0.actions, resources: $0.resources) }
        var out: [Statement]
        switch level {
        case .exact:
            out = allows.map { Statement(id: $0.id, effect: .allow, actions: $0.actions, resources: $0.resources) }
        case .mergedARNs:
            out = allows.map { Statement(id: $0.id, effect: .allow, actions: $0.actions, resources: Self.mergePrefixes($0.resources)) }
        case .actionLevel:
            let actions = Self.sortedUnique(allows.flatMap(\.actions))
            out = actions.isEmpty ? [] : [Statement(id: "ReinActionLevel", effect: .allow, actions: actions, resources: ["*"])]
        case .serviceLevel:
            let services = Self.sortedUnique(allows.flatMap(\.actions).map { action -> String in
                action == "*" ? "*" : (action.split(separator: ":").first.map { "\($0.lowercased()):*" } ?? action)
            })
            out = services.isEmpty ? [] : [Statement(id: "ReinServiceLevel", effect: .allow, actions: services, resources: ["*"])]
        }
        return out + denies
    }

    /// Resources grouped by ARN up to the resource part; each group with
    /// several entries becomes its longest common prefix plus `*`.
    static func mergePrefixes(_ resources: [String]) -> [String] {
        if resources.contains("*") { return ["*"] }
        var groups: [String: [String]] = [:]
        for r in resources {
            let parts = r.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            let key = parts.count == 6 ? parts[0..<5].joined(separator: ":") : r
            groups[key, default: []].append(r)
        }
        var merged: [String] = []
        for (_, members) in groups {
            guard members.count > 1 else { merged += members; continue }
            let prefix = members.dropFirst().reduce(members[0]) { common, next in String(common.commonPrefix(with: next)) }
            // Cut back to the last wildcard-free position, then widen.
            let cut = prefix.prefix { $0 != "*" && $0 != "?" }
            merged.append(String(cut) + "*")
        }
        return sortedUnique(merged)
    }

    static func sortedUnique(_ items: [String]) -> [String] { Array(Set(items)).sorted() }

    /// Compact IAM policy JSON (sorted keys for reproducibility).
    static func render(_ statements: [Statement]) -> String {
        let body: [[String: Any]] = statements.map { s in
            ["Sid": sid(s.id), "Effect": s.effect == .deny ? "Deny" : "Allow", "Action": s.actions, "Resource": s.resources]
        }
        let object: [String: Any] = ["Version": "2012-10-17", "Statement": body]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    /// IAM Sids are alphanumeric.
    static func sid(_ id: String) -> String {
        let cleaned = id.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) && $0.isASCII }
        return cleaned.isEmpty ? "Rein" : String(String.UnicodeScalarView(cleaned))
    }
}
