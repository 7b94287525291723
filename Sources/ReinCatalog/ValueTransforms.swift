/// Named transforms for request values that pack several parts, referred to
/// by catalog paths as `Member#name`. Which member uses which transform is
/// data (Tools/catalog/overrides.yaml); how to read each format is here.
struct ValueTransforms {
    let builder: ARNBuilder
    let service: ServiceModel

    func apply(_ name: String, to values: [String], _ inputs: inout RequestInputs) throws(UnknownReason) -> [String] {
        switch name {
        case "bucket", "key", "version":
            return values.compactMap { copySource($0, part: name) }
        case "strip-alias":
            return values.map { $0.hasPrefix("alias/") ? String($0.dropFirst("alias/".count)) : $0 }
        case "strip-leading-slash":
            return values.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
        case "ssm-parameter":
            return values.map(ssmParameter)
        case "kms-key":
            return values.map(kmsKey)
        case "lambda-function":
            let qualifier = inputs.operation.input("Qualifier") == nil ? nil : try inputs.values(InputPath("Qualifier")).first
            return try values.map { value throws(UnknownReason) in try lambdaFunction(value, qualifier: qualifier) }
        case "with-path":
            let path = inputs.operation.input("Path") == nil ? "/" : try inputs.values(InputPath("Path")).first ?? "/"
            let prefix = path.hasPrefix("/") ? String(path.dropFirst()) : path
            return values.map { prefix + $0 }
        case "bedrock-model":
            return values.map(bedrockModel)
        case "ec2-id":
            return try values.map { value throws(UnknownReason) in try ec2Resource(value) }
        default:
            throw UnknownReason(.unresolvedResource, "catalog transform #\(name) is not implemented")
        }
    }

    /// x-amz-copy-source: URL-encoded `bucket/key[?versionId=v]`, optionally with a leading `/`.
    private func copySource(_ raw: String, part: String) -> String? {
        var source = Substring(raw)
        var version: String?
        if let q = source.firstIndex(of: "?") {
            let query = source[source.index(after: q)...]
            for item in query.split(separator: "&") where item.hasPrefix("versionId=") {
                version = URIDecoding.decode(item.dropFirst("versionId=".count))
            }
            source = source[..<q]
        }
        if part == "version" { return version }
        let decoded = URIDecoding.decode(source)
        let trimmed = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : decoded
        guard let slash = trimmed.firstIndex(of: "/") else { return nil }
        return part == "bucket" ? String(trimmed[..<slash]) : String(trimmed[trimmed.index(after: slash)...])
    }

    /// SSM parameter names: the ARN drops the leading `/` and any `:version` or `:label` selector.
    private func ssmParameter(_ value: String) -> String {
        if value.hasPrefix("arn:") { return value }
        var name = Substring(value)
        if let colon = name.firstIndex(of: ":") { name = name[..<colon] }
        return name.hasPrefix("/") ? String(name.dropFirst()) : String(name)
    }

    /// KMS key references: an alias name becomes the alias ARN; key ids and ARNs stay.
    private func kmsKey(_ value: String) -> String {
        if value.hasPrefix("alias/") {
            return "arn:\(builder.partition):kms:\(builder.region):\(builder.account):\(value)"
        }
        return value
    }

    /// Lambda function references: a name, `name:qualifier`, a partial ARN
    /// `account:function:name[:qualifier]`, or a full ARN; with a Qualifier
    /// member, the qualified function is the resource.
    private func lambdaFunction(_ value: String, qualifier: String?) throws(UnknownReason) -> String {
        var account = builder.account, region = builder.region, partition = builder.partition
        var rest: [Substring]
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        if value.hasPrefix("arn:") {
            guard parts.count >= 7, parts[2] == "lambda", parts[5] == "function" else {
                throw UnknownReason(.unresolvedResource, "'\(value.prefix(200))' is not a Lambda function ARN")
            }
            partition = String(parts[1]); region = String(parts[3]); account = String(parts[4])
            rest = Array(parts[6...])
        } else if parts.count >= 3, parts[1] == "function" {
            account = String(parts[0])
            rest = Array(parts[2...])
        } else {
            rest = parts
        }
        guard let name = rest.first, !name.isEmpty, rest.count <= 2 else {
            throw UnknownReason(.unresolvedResource, "'\(value.prefix(200))' is not a Lambda function name")
        }
        var arn = "arn:\(partition):lambda:\(region):\(account):function:\(name)"
        if rest.count == 2 {
            arn += ":" + rest[1]
        } else if let qualifier, !qualifier.isEmpty {
            arn += ":" + qualifier
        }
        return arn
    }

    /// Bedrock model ids: a cross-region inference profile id (`us.`, `eu.`,
    /// `apac.`, `global.` prefix) names a profile in this account; any other
    /// id is a foundation model (ARNs have no account); ARNs stay.
    private func bedrockModel(_ id: String) -> String {
        if id.hasPrefix("arn:") { return id }
        let profilePrefixes = ["us.", "eu.", "apac.", "us-gov.", "global.", "jp.", "au.", "ca."]
        if profilePrefixes.contains(where: id.hasPrefix) {
            return "arn:\(builder.partition):bedrock:\(builder.region):\(builder.account):inference-profile/\(id)"
        }
        return "arn:\(builder.partition):bedrock:\(builder.region)::foundation-model/\(id)"
    }

    /// EC2 resource ids carry their type in their prefix (`i-`, `vol-`, `sg-`, ...).
    private func ec2Resource(_ id: String) throws(UnknownReason) -> String {
        if id.hasPrefix("arn:") { return id }
        guard let dash = id.firstIndex(of: "-"), let type = Self.ec2Prefixes[String(id[..<dash])],
              let template = service.compiledTypes[type] ?? ServiceModelCache.ec2Template(type)
        else {
            throw UnknownReason(.unresolvedResource, "cannot tell the EC2 resource type of '\(id.prefix(80))'")
        }
        let variable = template.parts.compactMap { part -> String? in
            if case .variable(let v) = part, !["Partition", "Region", "Account"].contains(v) { return v }
            return nil
        }.first ?? "Id"
        return builder.fill(template, [variable: [id]]).first ?? id
    }

    static let ec2Prefixes: [String: String] = [
        "i": "instance", "vol": "volume", "sg": "security-group", "subnet": "subnet", "vpc": "vpc", "ami": "image",
        "snap": "snapshot", "eni": "network-interface", "igw": "internet-gateway", "rtb": "route-table",
        "acl": "network-acl", "eipalloc": "elastic-ip", "nat": "natgateway", "lt": "launch-template",
        "key": "key-pair", "dopt": "dhcp-options", "vpce": "vpc-endpoint", "pcx": "vpc-peering-connection",
        "tgw": "transit-gateway", "fl": "vpc-flow-log", "eigw": "egress-only-internet-gateway",
        "pl": "prefix-list", "cgw": "customer-gateway", "vgw": "vpn-gateway", "vpn": "vpn-connection",
        "sgr": "security-group-rule", "pg": "placement-group", "h": "dedicated-host",
    ]
}

/// EC2 templates when a transform runs for another service (e.g. SSM's
/// instance targets): the fixed IAM formats of the commonest types.
enum ServiceModelCache {
    static func ec2Template(_ type: String) -> ARNTemplate? {
        switch type {
        case "image", "snapshot": return ARNTemplate("arn:${Partition}:ec2:${Region}::\(type)/${Id}")
        default: return ARNTemplate("arn:${Partition}:ec2:${Region}:${Account}:\(type)/${Id}")
        }
    }
}
