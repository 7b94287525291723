import ReinSigV4

/// Evaluates one IAM-style condition against a request's context, with
/// IAM's semantics for IfExists, negated operators and the set qualifiers.
struct ConditionMatcher: Sendable {
    let condition: Condition
    private let patterns: [WildcardPattern]

    init(_ condition: Condition) {
        self.condition = condition
        let ci = condition.operator == .stringEqualsIgnoreCase || condition.operator == .stringNotEqualsIgnoreCase
        patterns = condition.values.map { WildcardPattern($0, caseInsensitive: ci) }
    }

    func holds(in context: ConditionContext) -> Bool {
        guard let values = context.values[condition.key], !values.isEmpty else {
            // Absent key: IfExists passes; negated operators pass (nothing to
            // contradict them); everything else fails.
            return condition.ifExists || isNegated || condition.qualifier == .forAllValues
        }
        switch condition.qualifier {
        case .forAllValues?: return values.allSatisfy(matchesAny)
        case .forAnyValue?: return values.contains(where: matchesAny)
        case nil: return values.contains(where: matchesAny)
        }
    }

    private var isNegated: Bool {
        switch condition.operator {
        case .stringNotEquals, .stringNotEqualsIgnoreCase, .stringNotLike, .arnNotEquals, .arnNotLike,
             .numericNotEquals, .dateNotEquals, .notIpAddress: return true
        default: return false
        }
    }

    /// Positive operators: the value matches one of the condition's values.
    /// Negated ones: it matches none of them.
    private func matchesAny(_ value: String) -> Bool {
        switch condition.operator {
        case .stringEquals, .arnEquals: return condition.values.contains(value)
        case .stringNotEquals, .arnNotEquals: return !condition.values.contains(value)
        case .stringEqualsIgnoreCase: return condition.values.contains { $0.lowercased() == value.lowercased() }
        case .stringNotEqualsIgnoreCase: return !condition.values.contains { $0.lowercased() == value.lowercased() }
        case .stringLike, .arnLike: return patterns.contains { $0.matches(value) }
        case .stringNotLike, .arnNotLike: return !patterns.contains { $0.matches(value) }
        case .numericEquals, .numericNotEquals, .numericLessThan, .numericLessThanEquals, .numericGreaterThan, .numericGreaterThanEquals:
            guard let v = Double(value) else { return false }
            return compare(v, condition.values.compactMap(Double.init))
        case .dateEquals, .dateNotEquals, .dateLessThan, .dateLessThanEquals, .dateGreaterThan, .dateGreaterThanEquals:
            guard let v = Self.time(value) else { return false }
            return compare(Double(v), condition.values.compactMap(Self.time).map(Double.init))
        case .bool: return condition.values.contains { $0.lowercased() == value.lowercased() }
        case .ipAddress: return condition.values.contains { CIDR($0)?.contains(value) ?? false }
        case .notIpAddress: return !condition.values.contains { CIDR($0)?.contains(value) ?? false }
        }
    }

    private func compare(_ v: Double, _ limits: [Double]) -> Bool {
        switch condition.operator {
        case .numericEquals, .dateEquals: return limits.contains(v)
        case .numericNotEquals, .dateNotEquals: return !limits.contains(v)
        case .numericLessThan, .dateLessThan: return limits.contains { v < $0 }
        case .numericLessThanEquals, .dateLessThanEquals: return limits.contains { v <= $0 }
        case .numericGreaterThan, .dateGreaterThan: return limits.contains { v > $0 }
        case .numericGreaterThanEquals, .dateGreaterThanEquals: return limits.contains { v >= $0 }
        default: return false
        }
    }

    /// RFC 3339 / ISO 8601 UTC, or epoch seconds.
    static func time(_ text: String) -> Int64? {
        if let n = Int64(text) { return n }
        return AmzDate.parseISO8601(text)
    }
}

/// An IPv4 CIDR block (`10.0.0.0/8`) or single address.
struct CIDR: Sendable {
    let base: UInt32
    let mask: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let addr = Self.ipv4(String(first)) else { return nil }
        let bits = parts.count == 2 ? Int(parts[1]) ?? -1 : 32
        guard (0...32).contains(bits) else { return nil }
        mask = bits == 0 ? 0 : UInt32.max << (32 - UInt32(bits))
        base = addr & mask
    }

    func contains(_ address: String) -> Bool {
        guard let a = Self.ipv4(address) else { return false }
        return a & mask == base
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var v: UInt32 = 0
        for o in octets {
            guard let n = UInt32(o), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }
}
