import Foundation

/// Turns a routed request into (IAM action, resources) pairs, from the
/// catalog's data: the primary action (or its variant), its resource
/// alternatives, and dependent actions such as a copy's source read.
struct ResourceExtractor {
    let service: ServiceModel
    let builder: ARNBuilder
    /// A request naming more resources than this is unknown (a bound on work and on audit size).
    let maxResources: Int

    func grants(_ inputs: inout RequestInputs, s3: S3Addressing?) throws(UnknownReason) -> [ActionResources] {
        let op = inputs.operation
        if let statements = op.partiqlPath {
            return try partiqlGrants(statements, &inputs)
        }
        guard var action = op.action else {
            throw UnknownReason(.noIAMMapping, "the IAM reference maps no action to \(service.name) \(op.name)")
        }
        for variant in op.variants where try present(variant.path, &inputs) {
            action = variant.action
            break
        }
        var grants: [ActionResources] = []
        var primary: [String] = []
        if op.hasResourceTypes {
            if let resources = try resolve(op.resources, all: op.resourcesAll, &inputs, s3: s3) {
                primary = resources
            } else if op.unnamedIsStar {
                primary = ["*"]
            } else if !op.actionOptional {
                let types = (op.resources.map(\.type) + op.unboundResourceTypes).joined(separator: ", ")
                throw UnknownReason(.unresolvedResource, "cannot tell which \(types) \(service.name) \(op.name) acts on")
            }
        } else {
            primary = ["*"]
        }
        if !primary.isEmpty { grants.append(ActionResources(action: action, resources: primary)) }
        for extra in op.extraActions {
            if let condition = extra.condition, !(try inputs.holds(condition)) { continue }
            var extraAction = extra.action
            for variant in extra.variants where try present(variant.path, &inputs) {
                extraAction = variant.action
                break
            }
            if extra.sameResources {
                if !primary.isEmpty { grants.append(ActionResources(action: extraAction, resources: primary)) }
            } else if extra.resources.isEmpty {
                grants.append(ActionResources(action: extraAction, resources: ["*"]))
            } else if let resources = try resolve(extra.resources, all: false, &inputs, s3: s3) {
                grants.append(ActionResources(action: extraAction, resources: resources))
            } else if extra.unnamedIsStar {
                grants.append(ActionResources(action: extraAction, resources: ["*"]))
            } else if !extra.optional {
                throw UnknownReason(.unresolvedResource, "cannot tell which resource \(extraAction) acts on for \(op.name)")
            }
        }
        guard !grants.isEmpty else {
            throw UnknownReason(.unresolvedResource, "\(service.name) \(op.name) names no resource Rein can read")
        }
        return grants
    }

    /// Whether a member (after its transform) is present.
    private func present(_ path: InputPath, _ inputs: inout RequestInputs) throws(UnknownReason) -> Bool {
        guard path.transform != nil else { return try inputs.isPresent(path) }
        return !(try transformed(try inputs.values(path), path: path, &inputs)).isEmpty
    }

    /// Either the most specific alternative the request fills completely (a
    /// Query naming an index acts on the index), or, when every required
    /// resource type applies at once, all of them.
    private func resolve(_ alternatives: [ResourceAlternative], all: Bool, _ inputs: inout RequestInputs, s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        var arns: [String] = []
        if all {
            for alternative in alternatives {
                if let condition = alternative.condition, !(try inputs.holds(condition)) { continue }
                if let found = try resolve(alternative, &inputs, s3: s3), !found.isEmpty {
                    arns += found
                } else if !alternative.optional {
                    return nil
                }
            }
        } else {
            var best: (arns: [String], variables: Int)?
            for alternative in alternatives {
                if let condition = alternative.condition, !(try inputs.holds(condition)) { continue }
                if let found = try resolve(alternative, &inputs, s3: s3), !found.isEmpty,
                   alternative.paths.count > (best?.variables ?? -1) {
                    best = (found, alternative.paths.count)
                }
            }
            guard let found = best?.arns else { return nil }
            arns = found
        }
        guard !arns.isEmpty else { return nil }
        guard arns.count <= maxResources else {
            throw UnknownReason(.tooManyResources, "\(inputs.operation.name) names \(arns.count) resources; the limit is \(maxResources)")
        }
        if arns.count == 1 { return arns }
        var seen = Set<String>()
        return arns.filter { seen.insert($0).inserted }.sorted()
    }

    private func resolve(_ alternative: ResourceAlternative, _ inputs: inout RequestInputs, s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        if alternative.type == "*" {
            guard let path = alternative.paths.first(where: { $0.variable == "*" })?.path else { return nil }
            let values = try transformed(try inputs.values(path), path: path, &inputs)
            guard !values.isEmpty else { return nil }
            return try values.map { value throws(UnknownReason) in try wholeARN(value) }
        }
        guard let template = service.compiledTypes[alternative.type] else { return nil }
        var values: [(String, [String])] = []
        var account: String?
        var givenARNs: [String] = []
        for (variable, path) in alternative.paths {
            var found = try transformed(try inputs.values(path), path: path, &inputs)
            if variable == "Account" {
                account = found.first
                continue
            }
            guard !found.isEmpty else { return nil }
            // A value that is already an ARN is the resource itself.
            if found.contains(where: { $0.utf8.starts(with: "arn:".utf8) }) {
                let arns = found.filter { $0.utf8.starts(with: "arn:".utf8) }
                givenARNs += try arns.map { value throws(UnknownReason) in try wholeARN(value, template: template) }
                found = found.filter { !$0.utf8.starts(with: "arn:".utf8) }
                if found.isEmpty { continue }
            }
            if found.contains(where: Self.isURL) {
                let (names, urlAccount) = Self.queueURLs(found)
                found = names
                account = urlAccount ?? account
            }
            values.append((variable, found))
        }
        if let accessPoint = try accessPointResources(alternative, values: values, s3: s3) { return accessPoint }
        let named = alternative.namedVariables
        if named.isEmpty { return builder.fill(template, [:], account: account) } // e.g. Glue's root catalog
        if values.isEmpty { return givenARNs }
        guard values.count == named.count else {
            // Some parts came as a whole ARN and others as names: ambiguous.
            throw UnknownReason(.unresolvedResource, "\(inputs.operation.name) mixes a whole ARN with parts of a resource name")
        }
        return givenARNs + builder.fill(template, values, account: account)
    }

    private func wholeARN(_ value: String, template: ARNTemplate? = nil) throws(UnknownReason) -> String {
        guard let arn = ARNBuilder.parse(value) else {
            throw UnknownReason(.unresolvedResource, "'\(value.prefix(200))' is not a valid ARN")
        }
        let expected = template?.service ?? service.iamPrefix
        if let expected, arn.service != expected {
            throw UnknownReason(.unresolvedResource, "the ARN \(value.prefix(200)) belongs to \(arn.service), not \(expected)")
        }
        return value
    }

    static func isURL(_ s: String) -> Bool {
        s.utf8.count > 3 && (s.utf8.starts(with: "http://".utf8) || s.utf8.starts(with: "https://".utf8))
    }

    /// SQS queue URLs: `https://sqs.region.amazonaws.com/123456789012/name`.
    static func queueURLs(_ urls: [String]) -> ([String], String?) {
        var names: [String] = [], account: String?
        for url in urls {
            let segments = url.split(separator: "/").map(String.init)
            names.append(segments.last ?? url)
            if segments.count >= 2, segments[segments.count - 2].count == 12, segments[segments.count - 2].allSatisfy(\.isNumber) {
                account = segments[segments.count - 2]
            }
        }
        return (names, account)
    }

    /// Named transforms for values that pack several parts (ValueTransforms.swift).
    private func transformed(_ values: [String], path: InputPath, _ inputs: inout RequestInputs) throws(UnknownReason) -> [String] {
        guard let transform = path.transform else { return values }
        return try ValueTransforms(builder: builder, service: service).apply(transform, to: values, &inputs)
    }

    /// S3 through an access point: bucket → accesspoint, object → accesspointobject.
    private func accessPointResources(_ alternative: ResourceAlternative, values: [(String, [String])], s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        guard service.signingName == "s3", alternative.type == "bucket" || alternative.type == "object" else { return nil }
        guard case .accessPoint(let name, let account)? = s3?.style else { return nil }
        let base = "arn:\(builder.partition):s3:\(builder.region):\(account):accesspoint/\(name)"
        if alternative.type == "bucket" { return [base] }
        return (values.first { $0.0 == "ObjectName" }?.1 ?? []).map { base + "/object/" + $0 }
    }

    /// DynamoDB PartiQL: each statement's verb picks the action, its FROM /
    /// INTO / UPDATE target names the table (or `table.index`).
    private func partiqlGrants(_ path: InputPath, _ inputs: inout RequestInputs) throws(UnknownReason) -> [ActionResources] {
        let statements = try inputs.values(path)
        guard !statements.isEmpty else {
            throw UnknownReason(.unresolvedResource, "\(inputs.operation.name) carries no PartiQL statement")
        }
        var byAction: [String: [String]] = [:]
        var order: [String] = []
        for text in statements {
            guard let statement = PartiQLStatement(text) else {
                throw UnknownReason(.unresolvedResource, "cannot read the PartiQL statement '\(text.prefix(120))'")
            }
            let action = "dynamodb:PartiQL" + statement.verb
            var arn = builder.fill(ARNTemplate("arn:${Partition}:dynamodb:${Region}:${Account}:table/${T}"), ["T": [statement.table]])
            if let index = statement.index { arn = arn.map { $0 + "/index/" + index } }
            if byAction[action] == nil { order.append(action) }
            byAction[action, default: []] += arn
        }
        return order.map { ActionResources(action: $0, resources: Array(Set(byAction[$0] ?? [])).sorted()) }
    }
}
