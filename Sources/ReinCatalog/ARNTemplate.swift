/// An IAM ARN template (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`)
/// split once into literal text and variables, so filling it is appends only.
struct ARNTemplate: Sendable {
    enum Part: Sendable {
        case literal(String)
        case variable(String)
    }

    let parts: [Part]
    /// The template's service field (e.g. "s3"), for checking given ARNs.
    let service: String?

    init(_ template: String) {
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(template)
        while let dollar = rest.firstIndex(of: "$") {
            let after = rest.index(after: dollar)
            guard after < rest.endIndex, rest[after] == "{", let close = rest[after...].firstIndex(of: "}") else {
                literal += rest[...dollar]
                rest = rest[after...]
                continue
            }
            literal += rest[..<dollar]
            if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
            parts.append(.variable(String(rest[rest.index(after: after)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        let fields = template.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        service = fields.count > 2 ? String(fields[2]) : nil
    }
}
