import Foundation

/// Fills IAM ARN templates (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`).
///
/// The partition comes from the region, the account from Rein's
/// configuration (the broker's account), never from the agent: only a
/// resource the request itself names by ARN or queue URL keeps the account
/// it names, because that is the resource AWS will act on.
struct ARNBuilder {
    let region: String
    let account: String

    var partition: String { Self.partition(for: region) }

    static func partition(for region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        if region.hasPrefix("us-isob-") { return "aws-iso-b" }
        if region.hasPrefix("us-iso-") { return "aws-iso" }
        if region.hasPrefix("eu-isoe-") { return "aws-iso-e" }
        if region.hasPrefix("us-isof-") { return "aws-iso-f" }
        return "aws"
    }

    /// Expands a template for every combination of variable values.
    func fill(_ template: ARNTemplate, _ values: [String: [String]], account override: String? = nil) -> [String] {
        fill(template, values.map { ($0.key, $0.value) }, account: override)
    }

    /// The same, with the few variable values in a small array (no hashing).
    func fill(_ template: ARNTemplate, _ values: [(String, [String])], account override: String? = nil) -> [String] {
        func lookup(_ name: String) -> [String]? { values.first { $0.0 == name }?.1 }
        // The common case, one value per variable: build one string.
        if values.allSatisfy({ $0.1.count == 1 }) {
            var arn = ""
            arn.reserveCapacity(96)
            for part in template.parts {
                switch part {
                case .literal(let text): arn += text
                case .variable("Partition"): arn += partition
                case .variable("Region"): arn += region
                case .variable("Account"): arn += override ?? account
                case .variable(let name):
                    guard let value = lookup(name)?.first else { return [] }
                    arn += value
                }
            }
            return [arn]
        }
        var results = [""]
        for part in template.parts {
            switch part {
            case .literal(let text):
                for i in results.indices { results[i] += text }
            case .variable(let name):
                let options: [String]
                switch name {
                case "Partition": options = [partition]
                case "Region": options = [region]
                case "Account": options = [override ?? account]
                default: options = lookup(name) ?? []
                }
                if options.count == 1 {
                    for i in results.indices { results[i] += options[0] }
                } else {
                    results = results.flatMap { prefix in options.map { prefix + $0 } }
                }
            }
        }
        return results
    }

    /// A syntactically valid ARN and its service field.
    static func parse(_ text: String) -> (partition: String, service: String, region: String, account: String, resource: String)? {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else { return nil }
        return (String(parts[1]), String(parts[2]), String(parts[3]), String(parts[4]), String(parts[5]))
    }
}
