import Foundation
import Testing
@testable import ReinPolicy

/// SARIF structure as code-scanning services read it. The schema itself is
/// checked by Tests/interop/test_sarif_schema.py, which runs this suite with
/// REIN_SARIF_OUT set and validates the files `writesSamplesForSchemaValidation`
/// leaves there against the official SARIF 2.1.0 schema.
struct SARIFReportTests {
    typealias F = LintFixture

    /// A policy that trips most rules, findings with and without locations.
    static func riskyFindings() throws -> [LintFinding] {
        try F.lint([
            #"{id: everything, effect: allow, actions: ["*"], resources: ["*"]}"#,
            #"{id: reads, effect: hold, actions: ["s3:Get*", "kms:Decrypt"], resources: ["arn:aws:s3:::*", "arn:aws:kms:eu-west-1:210987654321:key/*"]}"#,
        ], notAfter: nil)
    }

    static func parse(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func run(_ log: [String: Any]) throws -> [String: Any] {
        let runs = try #require(log["runs"] as? [[String: Any]])
        try #require(runs.count == 1)
        return runs[0]
    }

    @Test func logHasTheSARIFEnvelopeAndDriver() throws {
        let log = try Self.parse(SARIFReport.render(try Self.riskyFindings(), policyURI: "policies/q3.yaml", toolVersion: "0.4.0"))
        #expect(log["$schema"] as? String == "https://json.schemastore.org/sarif-2.1.0.json")
        #expect(log["version"] as? String == "2.1.0")
        let driver = try #require((try Self.run(log)["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "rein-policy-lint")
        #expect(driver["version"] as? String == "0.4.0")
        #expect((driver["informationUri"] as? String)?.hasPrefix("https://") == true)
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(rules.compactMap { $0["id"] as? String } == LintRule.all.map(\.id))
        for (rule, json) in zip(LintRule.all, rules) {
            #expect(json["name"] as? String == rule.name)
            #expect((json["shortDescription"] as? [String: Any])?["text"] as? String == rule.title)
            #expect((json["fullDescription"] as? [String: Any])?["text"] as? String == rule.description)
            #expect((json["help"] as? [String: Any])?["text"] as? String == rule.remediation)
            #expect((json["defaultConfiguration"] as? [String: Any])?["level"] as? String == rule.defaultSeverity.rawValue)
        }
    }

    @Test func resultsCarryRuleLevelMessageAndLocation() throws {
        let findings = try Self.riskyFindings()
        let run = try Self.run(try Self.parse(SARIFReport.render(findings, policyURI: "policies/q3.yaml", toolVersion: "1")))
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == findings.count)
        let ruleIds = LintRule.all.map(\.id)
        var positions: [(Int, Int, String)] = []
        for result in results {
            let ruleId = try #require(result["ruleId"] as? String)
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(ruleIds[index] == ruleId)
            let finding = try #require(findings.first { $0.rule == ruleId && $0.message == (result["message"] as? [String: Any])?["text"] as? String })
            #expect(result["level"] as? String == finding.severity.rawValue)
            let locations = try #require(result["locations"] as? [[String: Any]])
            let physical = try #require(locations.first?["physicalLocation"] as? [String: Any])
            #expect((physical["artifactLocation"] as? [String: Any])?["uri"] as? String == "policies/q3.yaml")
            let region = try #require(physical["region"] as? [String: Any])
            let line = try #require(region["startLine"] as? Int), column = try #require(region["startColumn"] as? Int)
            #expect(line == (finding.location?.line ?? 1) && column == (finding.location?.column ?? 1))
            positions.append((finding.location?.line ?? 0, finding.location?.column ?? 0, ruleId))
        }
        #expect(positions.map { "\($0.0):\($0.1):\($0.2)" } == positions.sorted { ($0.0, $0.1, $0.2) < ($1.0, $1.1, $1.2) }.map { "\($0.0):\($0.1):\($0.2)" })
        // The document-wide finding (no expiry) comes first, pointing at line 1.
        #expect(results.first?["ruleId"] as? String == "REIN-L011")
        #expect(Set(results.compactMap { $0["level"] as? String }) == ["error", "warning", "note"])
    }

    @Test func outputIsStableWhateverTheInputOrder() throws {
        let findings = try Self.riskyFindings()
        let a = SARIFReport.render(findings, policyURI: "p.yaml", toolVersion: "1")
        let b = SARIFReport.render(findings.reversed(), policyURI: "p.yaml", toolVersion: "1")
        #expect(a == b)
        #expect(a.contains("\"$schema\" : \"https://json.schemastore.org/sarif-2.1.0.json\""), "slashes must not be escaped")
    }

    @Test func unknownRuleIdsGetADescriptor() throws {
        let foreign = LintFinding(severity: .warning, rule: "REIN-V003", title: "Malformed ARN", message: "bad ARN",
                                  statementId: "s", location: SourceLocation(line: 4, column: 5), remediation: "Fix the ARN.")
        let run = try Self.run(try Self.parse(SARIFReport.render([foreign], policyURI: "p.yaml", toolVersion: "1")))
        let rules = try #require((run["tool"] as? [String: Any]).flatMap { $0["driver"] as? [String: Any] }?["rules"] as? [[String: Any]])
        #expect(rules.count == LintRule.all.count + 1)
        #expect(rules.last?["id"] as? String == "REIN-V003")
        let result = try #require((run["results"] as? [[String: Any]])?.first)
        #expect(result["ruleIndex"] as? Int == LintRule.all.count)
        #expect((result["properties"] as? [String: Any])?["statementId"] as? String == "s")
    }

    @Test func cleanPolicyGivesAnEmptyResultList() throws {
        let run = try Self.run(try Self.parse(SARIFReport.render([], policyURI: "p.yaml", toolVersion: "1")))
        #expect((run["results"] as? [Any])?.isEmpty == true)
    }

    /// Renders the sample logs; with REIN_SARIF_OUT set, writes them there
    /// for the schema test (`risky.sarif`, `clean.sarif`, `mixed.sarif`).
    @Test func writesSamplesForSchemaValidation() throws {
        let mixed = [
            LintFinding(severity: .note, rule: "REIN-X999", title: "Outside rule", message: "quote \" and ünïcode",
                        statementId: nil, location: nil, remediation: "None."),
        ] + (try F.lint([#"{id: pass, effect: allow, actions: ["iam:PassRole", "ec2:RunInstances"], resources: ["*"]}"#],
                        notBefore: nil, notAfter: "2026-07-01T00:00:00Z"))
        let samples = [
            ("risky.sarif", SARIFReport.render(try Self.riskyFindings(), policyURI: "policies/q3.yaml", toolVersion: "0.1.0")),
            ("clean.sarif", SARIFReport.render(try F.lint(PolicyLinterTests.clean), policyURI: "policies/clean.yaml", toolVersion: "0.1.0")),
            ("mixed.sarif", SARIFReport.render(mixed, policyURI: "file:///srv/policies/mixed%20task.yaml", toolVersion: "0.1.0")),
        ]
        for (_, text) in samples { #expect(try Self.parse(text)["version"] as? String == "2.1.0") }
        guard let dir = ProcessInfo.processInfo.environment["REIN_SARIF_OUT"], !dir.isEmpty else { return }
        for (name, text) in samples {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
        }
    }
}
