import Foundation

/// Renders linter findings as a SARIF 2.1.0 log, the format code-scanning
/// services (GitHub, GitLab, Azure DevOps) and IDE viewers read, so policy
/// review can happen where code review already does.
///
/// The log has one run whose driver lists every `LintRule` (in `LintRule.all`
/// order, so `ruleIndex` is stable across runs and releases) followed by any
/// rule ids the findings use that Rein does not know. Results are ordered by
/// position, then rule, then message, so the same policy gives byte-identical
/// output. Findings about the whole document (no location) point at line 1,
/// column 1: SARIF allows no region, but code-scanning services drop results
/// that have none.
public enum SARIFReport {
    public static let schemaURI = "https://json.schemastore.org/sarif-2.1.0.json"
    public static let toolName = "rein-policy-lint"
    /// Rein's home, as named by the policy apiVersion group (`rein.dev/v1alpha1`).
    public static let informationURI = "https://rein.dev"

    /// - Parameters:
    ///   - policyURI: the policy file as a URI reference, e.g. `policies/task.yaml`
    ///     (relative to the repository root for code scanning); used as given.
    ///   - toolVersion: Rein's version.
    public static func render(_ findings: [LintFinding], policyURI: String, toolVersion: String) -> String {
        var rules = LintRule.all.map(ReportingDescriptor.init)
        var indexOf = Dictionary(uniqueKeysWithValues: rules.enumerated().map { ($0.element.id, $0.offset) })
        for finding in findings.sorted(by: { $0.rule < $1.rule }) where indexOf[finding.rule] == nil {
            indexOf[finding.rule] = rules.count
            rules.append(ReportingDescriptor(unknown: finding))
        }
        let results = findings.sorted(by: LintFinding.reportOrder).map { f in
            Result(ruleId: f.rule, ruleIndex: indexOf[f.rule] ?? 0, level: f.severity.rawValue,
                   message: Message(text: f.message),
                   locations: [Location(physicalLocation: PhysicalLocation(
                       artifactLocation: ArtifactLocation(uri: policyURI),
                       region: Region(startLine: max(f.location?.line ?? 1, 1), startColumn: max(f.location?.column ?? 1, 1))))],
                   properties: ResultProperties(statementId: f.statementId, remediation: f.remediation))
        }
        let log = Log(schema: schemaURI, version: "2.1.0", runs: [Run(
            tool: Tool(driver: Driver(name: toolName, version: toolVersion, informationUri: informationURI, rules: rules)),
            results: results)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(log), as: UTF8.self)
        } catch {
            // Only strings and integers are encoded; JSONEncoder fails only on
            // non-finite floating-point numbers, so this cannot happen.
            preconditionFailure("SARIF encoding failed: \(error)")
        }
    }

    /// The SARIF level of a severity (the names coincide).
    static func level(_ severity: PolicyProblem.Severity) -> String { severity.rawValue }

    /// GitHub's `security-severity` (CVSS-like, 0–10) by default level, so
    /// alerts sort as critical/high/medium/low.
    static func securitySeverity(_ severity: PolicyProblem.Severity) -> String {
        switch severity {
        case .error: return "8.0"
        case .warning: return "5.0"
        case .note: return "2.0"
        }
    }

    // MARK: - The SARIF object model (only what Rein emits)

    struct Log: Encodable {
        let schema: String
        let version: String
        let runs: [Run]
        enum CodingKeys: String, CodingKey { case schema = "$schema", version, runs }
    }

    struct Run: Encodable {
        let tool: Tool
        let results: [Result]
    }

    struct Tool: Encodable { let driver: Driver }

    struct Driver: Encodable {
        let name: String
        let version: String
        let informationUri: String
        let rules: [ReportingDescriptor]
    }

    struct ReportingDescriptor: Encodable {
        let id: String
        let name: String
        let shortDescription: Message
        let fullDescription: Message
        let help: Message
        let defaultConfiguration: Configuration
        let properties: RuleProperties

        init(_ rule: LintRule) {
            id = rule.id
            name = rule.name
            shortDescription = Message(text: rule.title)
            fullDescription = Message(text: rule.description)
            help = Message(text: rule.remediation)
            defaultConfiguration = Configuration(level: SARIFReport.level(rule.defaultSeverity))
            properties = RuleProperties(tags: ["security", "aws-iam"],
                                        securitySeverity: SARIFReport.securitySeverity(rule.defaultSeverity))
        }

        /// A rule id from elsewhere (not in `LintRule.all`), described by its finding.
        init(unknown finding: LintFinding) {
            id = finding.rule
            name = finding.rule
            shortDescription = Message(text: finding.title)
            fullDescription = Message(text: finding.title)
            help = Message(text: finding.remediation)
            defaultConfiguration = Configuration(level: SARIFReport.level(finding.severity))
            properties = RuleProperties(tags: ["security", "aws-iam"],
                                        securitySeverity: SARIFReport.securitySeverity(finding.severity))
        }
    }

    struct Configuration: Encodable { let level: String }

    struct RuleProperties: Encodable {
        let tags: [String]
        let securitySeverity: String
        enum CodingKeys: String, CodingKey { case tags, securitySeverity = "security-severity" }
    }

    struct Message: Encodable { let text: String }

    struct Result: Encodable {
        let ruleId: String
        let ruleIndex: Int
        let level: String
        let message: Message
        let locations: [Location]
        let properties: ResultProperties
    }

    struct ResultProperties: Encodable {
        let statementId: String?
        let remediation: String
    }

    struct Location: Encodable { let physicalLocation: PhysicalLocation }

    struct PhysicalLocation: Encodable {
        let artifactLocation: ArtifactLocation
        let region: Region
    }

    struct ArtifactLocation: Encodable { let uri: String }

    struct Region: Encodable {
        let startLine: Int
        let startColumn: Int
    }
}
