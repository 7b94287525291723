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
        guard var action = op.action else {
            throw UnknownReason(.noIAMMapping, "the IAM reference maps no action to \(service.name) \(op.name)")
        }
        for variant in op.variants where try inputs.isPresent(variant.path) {
            action = variant.action
            break
        }
        var grants: [ActionResources] = []
        if op.hasResourceTypes {
            if let resources = try resolve(op.resources, &inputs, s3: s3) {
                grants.append(ActionResources(action: action, resources: resources))
            } else if !op.actionOptional {
                let types = (op.resources.map(\.type) + op.unboundResourceTypes).joined(separator: ", ")
                throw UnknownReason(.unresolvedResource, "cannot tell which \(types) \(service.name) \(op.name) acts on")
            }
        } else {
            grants.append(ActionResources(action: action, resources: ["*"]))
        }
        for extra in op.extraActions {
            if extra.resources.isEmpty {
                grants.append(ActionResources(action: extra.action, resources: ["*"]))
            } else if let resources = try resolve(extra.resources, &inputs, s3: s3) {
                grants.append(ActionResources(action: extra.action, resources: resources))
            } else if !extra.optional {
                throw UnknownReason(.unresolvedResource, "cannot tell which resource \(extra.action) acts on for \(op.name)")
            }
        }
        guard !grants.isEmpty else {
            throw UnknownReason(.unresolvedResource, "\(service.name) \(op.name) names no resource Rein can read")
        }
        return grants
    }

    /// The most specific alternative the request fills completely: a Query
    /// naming an index acts on the index, not just the table.
    private func resolve(_ alternatives: [ResourceAlternative], _ inputs: inout RequestInputs, s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        var best: (arns: [String], variables: Int)?
        for alternative in alternatives {
            if let arns = try resolve(alternative, &inputs, s3: s3), !arns.isEmpty,
               alternative.bindings.count > (best?.variables ?? -1) {
                best = (arns, alternative.bindings.count)
            }
        }
        guard let arns = best?.arns else { return nil }
        guard arns.count <= maxResources else {
            throw UnknownReason(.tooManyResources, "\(inputs.operation.name) names \(arns.count) resources; the limit is \(maxResources)")
        }
        return Array(Set(arns)).sorted()
    }

    private func resolve(_ alternative: ResourceAlternative, _ inputs: inout RequestInputs, s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        if alternative.type == "*" {
            guard let path = alternative.paths.first(where: { $0.variable == "*" })?.path else { return nil }
            let values = try inputs.values(path)
            guard !values.isEmpty else { return nil }
            return try values.map { value throws(UnknownReason) in try wholeARN(value) }
        }
        guard let template = service.compiledTypes[alternative.type] else { return nil }
        var values: [String: [String]] = [:]
        var account: String?
        var givenARNs: [String] = []
        for (variable, path) in alternative.paths {
            var found = try transformed(try inputs.values(path), transform: path.transform)
            guard !found.isEmpty else { return nil }
            if let arns = try arnValues(found, template: template, variables: alternative.paths.count) {
                givenARNs += arns
                continue
            }
            if found.contains(where: Self.isURL) {
                (found, account) = Self.queueURLs(found)
            }
            values[variable] = found
        }
        if let accessPoint = try accessPointResources(alternative, values: values, s3: s3) { return accessPoint }
        if !givenARNs.isEmpty && values.isEmpty { return givenARNs }
        return givenARNs + builder.fill(template, values, account: account)
    }

    static func isURL(_ s: String) -> Bool {
        s.utf8.count > 3 && (s.utf8.starts(with: "http://".utf8) || s.utf8.starts(with: "https://".utf8))
    }

    /// A value that is already an ARN is the resource itself, if it is an
    /// ARN of the same service (anything else is unknown).
    private func arnValues(_ found: [String], template: ARNTemplate, variables: Int) throws(UnknownReason) -> [String]? {
        guard found.contains(where: { $0.utf8.starts(with: "arn:".utf8) }) else { return nil }
        guard variables == 1 else {
            throw UnknownReason(.unresolvedResource, "an ARN was given where \(service.name) expects one part of a resource name")
        }
        return try found.map { value throws(UnknownReason) in try wholeARN(value, template: template) }
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

    /// Named transforms for values that pack several parts.
    private func transformed(_ values: [String], transform: String?) throws(UnknownReason) -> [String] {
        guard let transform else { return values }
        switch transform {
        case "bucket", "key":
            // x-amz-copy-source: URL-encoded "bucket/key[?versionId=...]", optionally with a leading "/".
            return values.compactMap { raw in
                var source = Substring(raw)
                if let q = source.firstIndex(of: "?") { source = source[..<q] }
                let decoded = URIDecoding.decode(source)
                let trimmed = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : decoded
                guard let slash = trimmed.firstIndex(of: "/") else { return nil }
                return transform == "bucket" ? String(trimmed[..<slash]) : String(trimmed[trimmed.index(after: slash)...])
            }
        case "strip-leading-slash":
            return values.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        default:
            throw UnknownReason(.unresolvedResource, "catalog transform #\(transform) is not implemented")
        }
    }

    /// S3 through an access point: bucket → accesspoint, object → accesspointobject.
    private func accessPointResources(_ alternative: ResourceAlternative, values: [String: [String]], s3: S3Addressing?) throws(UnknownReason) -> [String]? {
        guard service.signingName == "s3", alternative.type == "bucket" || alternative.type == "object" else { return nil }
        var name: String?, account: String?, region = builder.region, partition = builder.partition
        if case .accessPoint(let n, let a)? = s3?.style {
            name = n
            account = a
        } else if let bucket = values["BucketName"]?.first, bucket.hasPrefix("arn:") {
            guard let arn = ARNBuilder.parse(bucket), arn.resource.hasPrefix("accesspoint/") else {
                throw UnknownReason(.unresolvedResource, "the bucket ARN \(bucket) is not an S3 access point")
            }
            name = String(arn.resource.dropFirst("accesspoint/".count))
            account = arn.account
            region = arn.region
            partition = arn.partition
        }
        guard let name, let account else { return nil }
        let base = "arn:\(partition):s3:\(region):\(account):accesspoint/\(name)"
        if alternative.type == "bucket" { return [base] }
        return (values["ObjectName"] ?? []).map { base + "/object/" + $0 }
    }
}
