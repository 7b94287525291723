import Foundation
import ReinSigV4
import Yams

/// Reads a policy document from YAML or JSON (JSON is YAML), reporting every
/// structural problem with its line and column instead of stopping at the
/// first. Semantic checks against AWS knowledge are PolicyValidator's.
public enum PolicyLoader {
    public struct Result: Sendable {
        /// The document, when the structure was sound enough to build one.
        public let document: PolicyDocument?
        public let problems: [PolicyProblem]
    }

    public static func load(_ text: String) -> Result {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return Result(document: nil, problems: [PolicyProblem(.error, "REIN-P001", "not valid YAML or JSON: \(YAMLErrorText.describe(error))",
                                                                   at: location(of: error))])
        } catch {
            return Result(document: nil, problems: [PolicyProblem(.error, "REIN-P001", "not valid YAML or JSON: \(YAMLErrorText.describe(error))",
                                                                   at: nil)])
        }
        guard let root = node?.mapping else {
            return Result(document: nil, problems: [PolicyProblem(.error, "REIN-P002", "the document must be a mapping with agent, task, mode and statements", at: node.flatMap(loc))])
        }
        var reader = Reader()
        let document = reader.document(root, at: loc(node!))
        return Result(document: reader.problems.contains { $0.severity == .error } ? nil : document, problems: reader.problems)
    }

    static func location(of error: YamlError) -> SourceLocation? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return SourceLocation(line: mark.line, column: mark.column)
        default: return nil
        }
    }

    static func loc(_ node: Node) -> SourceLocation? {
        node.mark.map { SourceLocation(line: $0.line, column: $0.column) }
    }

    /// Walks the node tree, collecting problems.
    struct Reader {
        var problems: [PolicyProblem] = []

        mutating func problem(_ rule: String, _ message: String, _ node: Node?) {
            problems.append(PolicyProblem(.error, rule, message, at: node.flatMap(PolicyLoader.loc)))
        }

        mutating func document(_ map: Node.Mapping, at location: SourceLocation?) -> PolicyDocument {
            checkKeys(map, allowed: ["apiVersion", "kind", "agent", "task", "mode", "statements"], in: "the document")
            if let v = map["apiVersion"], v.string != PolicyDocument.apiVersion {
                problem("REIN-P003", "apiVersion must be \(PolicyDocument.apiVersion)", v)
            }
            if let k = map["kind"], k.string != PolicyDocument.kind {
                problem("REIN-P003", "kind must be \(PolicyDocument.kind)", k)
            }
            let agentMap = requiredMapping(map, "agent", in: "the document")
            let agent = PolicyDocument.Agent(
                id: agentMap.map { requiredString($0, "id", in: "agent") } ?? "",
                owner: agentMap.map { requiredString($0, "owner", in: "agent") } ?? "")
            if let a = agentMap { checkKeys(a, allowed: ["id", "owner"], in: "agent") }
            let taskMap = requiredMapping(map, "task", in: "the document")
            var task = PolicyDocument.Task(id: "", purpose: "", notBefore: nil, notAfter: nil)
            if let t = taskMap {
                checkKeys(t, allowed: ["id", "purpose", "notBefore", "notAfter"], in: "task")
                task.id = requiredString(t, "id", in: "task")
                task.purpose = requiredString(t, "purpose", in: "task")
                task.notBefore = time(t, "notBefore")
                task.notAfter = time(t, "notAfter")
            }
            var mode = PolicyMode.enforce
            if let m = map["mode"] {
                if let parsed = m.string.flatMap(PolicyMode.init(rawValue:)) { mode = parsed } else {
                    problem("REIN-P004", "mode must be one of enforce, observe, learn", m)
                }
            }
            var statements: [Statement] = []
            if let list = map["statements"] {
                guard let seq = list.sequence else {
                    problem("REIN-P002", "statements must be a list", list)
                    return PolicyDocument(agent: agent, task: task, mode: mode, statements: [])
                }
                if seq.isEmpty { problem("REIN-P005", "statements must not be empty: a policy with no statement denies everything", list) }
                var ids = Set<String>()
                for item in seq {
                    guard let s = statement(item) else { continue }
                    if !ids.insert(s.id).inserted { problem("REIN-P006", "statement id '\(s.id)' is used twice", item) }
                    statements.append(s)
                }
            } else {
                problem("REIN-P002", "the document needs statements", nil)
            }
            return PolicyDocument(agent: agent, task: task, mode: mode, statements: statements)
        }

        mutating func statement(_ node: Node) -> Statement? {
            guard let map = node.mapping else {
                problem("REIN-P002", "a statement must be a mapping", node)
                return nil
            }
            checkKeys(map, allowed: ["id", "effect", "actions", "resources", "conditions", "quota"], in: "a statement")
            let id = requiredString(map, "id", in: "a statement")
            var effect = Statement.Effect.deny
            if let e = map["effect"] {
                if let parsed = e.string.flatMap(Statement.Effect.init(rawValue:)) { effect = parsed } else {
                    problem("REIN-P004", "effect must be allow, deny or hold", e)
                }
            } else {
                problem("REIN-P002", "statement '\(id)' needs an effect", node)
            }
            let actions = stringList(map, "actions", in: "statement '\(id)'")
            let resources = stringList(map, "resources", in: "statement '\(id)'")
            var conditions: [Condition] = []
            if let c = map["conditions"] { conditions = self.conditions(c, statement: id) }
            var quota: Quota?
            if let q = map["quota"] { quota = self.quota(q, statement: id) }
            return Statement(id: id, effect: effect, actions: actions, resources: resources, conditions: conditions,
                             quota: quota, location: PolicyLoader.loc(node))
        }

        mutating func conditions(_ node: Node, statement id: String) -> [Condition] {
            guard let map = node.mapping else {
                problem("REIN-P002", "conditions of '\(id)' must map operators to {key: values}", node)
                return []
            }
            var out: [Condition] = []
            for (opNode, body) in map {
                guard var name = opNode.string else { continue }
                var qualifier: Condition.SetQualifier?
                if let colon = name.firstIndex(of: ":") {
                    qualifier = Condition.SetQualifier(rawValue: String(name[..<colon]))
                    if qualifier == nil { problem("REIN-V005", "unknown set qualifier in '\(name)' (use ForAnyValue: or ForAllValues:)", opNode) }
                    name = String(name[name.index(after: colon)...])
                }
                var ifExists = false
                if name.hasSuffix("IfExists") {
                    ifExists = true
                    name = String(name.dropLast("IfExists".count))
                }
                guard let op = ConditionOperator(rawValue: name) else {
                    problem("REIN-V005", "unknown condition operator '\(opNode.string ?? "")'", opNode)
                    continue
                }
                guard let pairs = body.mapping else {
                    problem("REIN-P002", "condition \(name) must map keys to values", body)
                    continue
                }
                for (keyNode, valueNode) in pairs {
                    let values = valueNode.sequence.map { $0.compactMap(\.string) } ?? valueNode.string.map { [$0] } ?? []
                    if values.isEmpty { problem("REIN-P002", "condition key '\(keyNode.string ?? "")' needs a value", valueNode) }
                    out.append(Condition(qualifier: qualifier, operator: op, ifExists: ifExists, key: keyNode.string ?? "",
                                         values: values, location: PolicyLoader.loc(keyNode)))
                }
            }
            return out
        }

        mutating func quota(_ node: Node, statement id: String) -> Quota? {
            guard let map = node.mapping else {
                problem("REIN-P002", "quota of '\(id)' must be a mapping", node)
                return nil
            }
            checkKeys(map, allowed: ["maxCalls", "per", "maxBytesRead", "maxBytesWritten"], in: "quota of '\(id)'")
            var q = Quota()
            if let n = map["maxCalls"] { q.maxCalls = n.int; if n.int == nil || n.int! <= 0 { problem("REIN-P004", "maxCalls must be a positive whole number", n) } }
            if let p = map["per"] {
                q.perSeconds = p.string.flatMap(DurationText.seconds)
                if q.perSeconds == nil { problem("REIN-P004", "per must be a duration such as 30s, 15m, 1h or 7d", p) }
            }
            if q.maxCalls != nil && q.perSeconds == nil { problem("REIN-P002", "maxCalls needs a window: per: 1h", node) }
            for key in ["maxBytesRead", "maxBytesWritten"] {
                guard let b = map[key] else { continue }
                let bytes = b.string.flatMap(ByteSizeText.bytes)
                if bytes == nil { problem("REIN-P004", "\(key) must be a size such as 500MiB or 10GB", b) }
                if key == "maxBytesRead" { q.maxBytesRead = bytes } else { q.maxBytesWritten = bytes }
            }
            return q
        }

        mutating func checkKeys(_ map: Node.Mapping, allowed: Set<String>, in place: String) {
            for key in map.keys where !allowed.contains(key.string ?? "") {
                problem("REIN-P007", "unknown key '\(key.string ?? "?")' in \(place) (allowed: \(allowed.sorted().joined(separator: ", ")))", key)
            }
        }

        mutating func requiredMapping(_ map: Node.Mapping, _ key: String, in place: String) -> Node.Mapping? {
            guard let node = map[key] else {
                problem("REIN-P002", "\(place) needs '\(key)'", nil)
                return nil
            }
            guard let m = node.mapping else {
                problem("REIN-P002", "'\(key)' must be a mapping", node)
                return nil
            }
            return m
        }

        mutating func requiredString(_ map: Node.Mapping, _ key: String, in place: String) -> String {
            guard let node = map[key], let s = node.string, !s.isEmpty else {
                problem("REIN-P002", "\(place) needs a non-empty '\(key)'", map[key])
                return ""
            }
            return s
        }

        mutating func stringList(_ map: Node.Mapping, _ key: String, in place: String) -> [String] {
            guard let node = map[key] else {
                problem("REIN-P002", "\(place) needs '\(key)'", nil)
                return []
            }
            if let s = node.string { return [s] }
            guard let seq = node.sequence, !seq.isEmpty else {
                problem("REIN-P002", "'\(key)' of \(place) must be a non-empty list", node)
                return []
            }
            return seq.compactMap { item in
                if let s = item.string { return s }
                problem("REIN-P002", "'\(key)' entries must be strings", item)
                return nil
            }
        }

        mutating func time(_ map: Node.Mapping, _ key: String) -> Int64? {
            guard let node = map[key] else { return nil }
            guard let text = node.string, let t = AmzDate.parseISO8601(text) else {
                problem("REIN-P004", "\(key) must be an RFC 3339 UTC time such as 2026-12-01T00:00:00Z", node)
                return nil
            }
            return t
        }
    }
}

/// `30s`, `15m`, `1h`, `7d` → seconds (policy quotas and CLI flags alike).
public enum DurationText {
    /// 100 years: longer is a typo, and callers may turn seconds into
    /// milliseconds and subtract them from now without overflowing.
    public static let maxSeconds: Int64 = 100 * 366 * 86_400

    public static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let n = Int64(text.dropLast()), n > 0 else { return nil }
        let factor: Int64
        switch unit {
        case "s": factor = 1
        case "m": factor = 60
        case "h": factor = 3600
        case "d": factor = 86400
        default: return nil
        }
        let (seconds, overflow) = n.multipliedReportingOverflow(by: factor)
        return overflow || seconds > maxSeconds ? nil : seconds
    }
}

/// `500MiB`, `10GB`, `1024` → bytes.
public enum ByteSizeText {
    public static func bytes(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
                                        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), n > 0 else { return nil }
            let (bytes, overflow) = n.multipliedReportingOverflow(by: factor)
            return overflow ? nil : bytes
        }
        return Int64(text).flatMap { $0 > 0 ? $0 : nil }
    }
}
