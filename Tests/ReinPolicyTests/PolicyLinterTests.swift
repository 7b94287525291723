import Testing
import ReinCatalog
@testable import ReinPolicy

/// Shared fixtures: the bundled catalog and policies written as YAML, loaded
/// through PolicyLoader like a real file.
enum LintFixture {
    static let catalog: ServiceCatalog? = try? ServiceCatalog.bundled()
    static let account = "123456789012"
    /// 2026-06-01T01:00:00Z, inside the default task window below.
    static let now: Int64 = 1_780_275_600

    /// A policy around the given statement lines (one YAML flow mapping each).
    static func yaml(_ statements: [String], notBefore: String? = "2026-06-01T00:00:00Z",
                     notAfter: String? = "2026-06-01T06:00:00Z") -> String {
        var text = """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: report-writer, owner: data@example.com}
        task:
          id: q3-report
          purpose: Build the Q3 report

        """
        if let notBefore { text += "  notBefore: \(notBefore)\n" }
        if let notAfter { text += "  notAfter: \(notAfter)\n" }
        text += "mode: enforce\nstatements:\n"
        for s in statements { text += "  - \(s)\n" }
        return text
    }

    static func document(_ yaml: String) throws -> PolicyDocument {
        let loaded = PolicyLoader.load(yaml)
        return try #require(loaded.document, "fixture does not load: \(loaded.problems)")
    }

    static func lint(_ statements: [String], accountId: String? = account, notBefore: String? = "2026-06-01T00:00:00Z",
                     notAfter: String? = "2026-06-01T06:00:00Z", maxTaskSeconds: Int64 = 7 * 86400) throws -> [LintFinding] {
        let catalog = try #require(Self.catalog)
        let linter = PolicyLinter(catalog: catalog, maxTaskSeconds: maxTaskSeconds, accountId: accountId)
        return linter.lint(try document(yaml(statements, notBefore: notBefore, notAfter: notAfter)), now: now)
    }

    /// rule id → severity; a rule reported twice must agree on severity.
    static func summary(_ findings: [LintFinding]) -> [String: PolicyProblem.Severity] {
        Dictionary(findings.map { ($0.rule, $0.severity) }, uniquingKeysWith: { a, b in max(a, b) })
    }
}

struct PolicyLinterTests {
    typealias F = LintFixture

    static let clean = [
        #"{id: read-sales, effect: allow, actions: ["s3:GetObject"], resources: ["arn:aws:s3:::sales-data/2026/*"]}"#,
        #"{id: list-sales, effect: allow, actions: ["s3:ListBucket"], resources: ["arn:aws:s3:::sales-data"]}"#,
        #"{id: read-table, effect: allow, actions: ["dynamodb:GetItem", "dynamodb:Query"], resources: ["arn:aws:dynamodb:eu-west-1:123456789012:table/sales"]}"#,
        #"{id: list-buckets, effect: allow, actions: ["s3:ListAllMyBuckets"], resources: ["*"]}"#,
        #"{id: delete-needs-approval, effect: hold, actions: ["s3:DeleteObject"], resources: ["arn:aws:s3:::sales-reports/*"]}"#,
        #"{id: no-iam, effect: deny, actions: ["iam:*"], resources: ["*"]}"#,
    ]

    @Test func leastPrivilegePolicyHasNoFindings() throws {
        let findings = try F.lint(Self.clean)
        #expect(findings == [], "\(findings)")
    }

    /// Each statement alone (in an otherwise clean, short-lived policy) and
    /// exactly the rules it must raise, with their severities for `allow`.
    @Test(arguments: [
        (#"{id: s, effect: allow, actions: ["*"], resources: ["*"]}"#,
         ["REIN-L001": .error, "REIN-L005": .error, "REIN-L006": .warning, "REIN-L007": .warning,
          "REIN-L008": .error, "REIN-L009": .error]),
        (#"{id: s, effect: allow, actions: ["s3:*"], resources: ["arn:aws:s3:::reports/*"]}"#,
         ["REIN-L002": .warning, "REIN-L009": .error]),
        (#"{id: s, effect: allow, actions: ["s3:Get*"], resources: ["arn:aws:s3:::reports/*"]}"#, ["REIN-L003": .warning]),
        (#"{id: s, effect: allow, actions: ["s3:GetObjectT*"], resources: ["arn:aws:s3:::reports/*"]}"#, ["REIN-L003": .note]),
        (#"{id: s, effect: allow, actions: ["s3:GetObject"], resources: ["*"]}"#, ["REIN-L004": .warning]),
        (#"{id: s, effect: allow, actions: ["s3:GetObject"], resources: ["arn:aws:s3:::*"]}"#, ["REIN-L004": .warning]),
        (#"{id: s, effect: allow, actions: ["s3:GetObject"], resources: ["arn:aws:s3:*"]}"#, ["REIN-L004": .warning]),
        (#"{id: s, effect: allow, actions: ["s3:ListAllMyBuckets", "sts:GetCallerIdentity"], resources: ["*"]}"#, [:]),
        (#"{id: s, effect: allow, actions: ["sts:AssumeRole"], resources: ["arn:aws:iam::123456789012:role/etl"]}"#,
         ["REIN-L005": .error]),
        (#"{id: s, effect: allow, actions: ["sts:GetSessionToken"], resources: ["*"]}"#, ["REIN-L005": .error]),
        (#"{id: s, effect: allow, actions: ["iam:CreateAccessKey"], resources: ["arn:aws:iam::123456789012:user/bot"]}"#,
         ["REIN-L005": .error, "REIN-L008": .error]),
        (#"{id: s, effect: allow, actions: ["secretsmanager:GetSecretValue"], resources: ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"]}"#,
         ["REIN-L006": .warning]),
        (#"{id: s, effect: allow, actions: ["ssm:GetParametersByPath"], resources: ["arn:aws:ssm:eu-west-1:123456789012:parameter/app/*"]}"#,
         ["REIN-L006": .warning]),
        (#"{id: s, effect: allow, actions: ["kms:Decrypt"], resources: ["*"]}"#, ["REIN-L004": .warning, "REIN-L006": .warning]),
        (#"{id: s, effect: allow, actions: ["kms:Decrypt"], resources: ["arn:aws:kms:eu-west-1:123456789012:key/*"]}"#,
         ["REIN-L006": .warning]),
        (#"{id: s, effect: allow, actions: ["ssm:SendCommand"], resources: ["arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc"]}"#,
         ["REIN-L007": .warning]),
        (#"{id: s, effect: allow, actions: ["lambda:UpdateFunctionCode"], resources: ["arn:aws:lambda:eu-west-1:123456789012:function:etl"]}"#,
         ["REIN-L007": .warning, "REIN-L008": .error]),
        (#"{id: s, effect: allow, actions: ["iam:CreatePolicyVersion"], resources: ["arn:aws:iam::123456789012:policy/agent"]}"#,
         ["REIN-L008": .error]),
        (#"{id: s, effect: allow, actions: ["s3:PutBucketPolicy"], resources: ["arn:aws:s3:::reports"]}"#, ["REIN-L009": .error]),
        (#"{id: s, effect: allow, actions: ["sqs:SetQueueAttributes"], resources: ["arn:aws:sqs:eu-west-1:123456789012:jobs"]}"#,
         ["REIN-L009": .error]),
        (#"{id: s, effect: allow, actions: ["dynamodb:GetItem"], resources: ["arn:aws:dynamodb:eu-west-1:210987654321:table/sales"]}"#,
         ["REIN-L010": .warning]),
        (#"{id: s, effect: allow, actions: ["dynamodb:GetItem"], resources: ["arn:aws:dynamodb:eu-west-1:*:table/sales"]}"#,
         ["REIN-L010": .warning]),
    ] as [(String, [String: PolicyProblem.Severity])])
    func ruleFires(_ statement: String, _ expected: [String: PolicyProblem.Severity]) throws {
        let findings = try F.lint([statement])
        #expect(F.summary(findings) == expected, "\(findings)")
        for f in findings {
            #expect(f.statementId == "s")
            #expect(f.title == LintRule.named(f.rule)?.title)
            #expect(!f.remediation.isEmpty)
        }
    }

    @Test func holdReportsOneLevelLower() throws {
        let allow = try F.lint([#"{id: s, effect: allow, actions: ["sts:AssumeRole", "secretsmanager:GetSecretValue"], resources: ["arn:aws:iam::123456789012:role/etl"]}"#])
        let hold = try F.lint([#"{id: s, effect: hold, actions: ["sts:AssumeRole", "secretsmanager:GetSecretValue"], resources: ["arn:aws:iam::123456789012:role/etl"]}"#])
        #expect(F.summary(allow) == ["REIN-L005": .error, "REIN-L006": .warning])
        #expect(F.summary(hold) == ["REIN-L005": .warning, "REIN-L006": .note])
        #expect(hold.allSatisfy { $0.message.hasPrefix("hold statement 's'") })
    }

    @Test func denyStatementsNeverReport() throws {
        let risky = [#"["*"]"#, #"["iam:*", "sts:AssumeRole"]"#, #"["s3:PutBucketPolicy", "kms:Decrypt"]"#,
                     #"["lambda:UpdateFunctionCode", "iam:PassRole", "ec2:RunInstances"]"#]
        let statements = risky.enumerated().map { i, actions in
            #"{id: d\#(i), effect: deny, actions: \#(actions), resources: ["*", "arn:aws:s3:::*", "arn:aws:dynamodb:eu-west-1:210987654321:table/x"]}"#
        }
        let findings = try F.lint(statements)
        #expect(findings == [], "\(findings)")
    }

    @Test func unconditionalDenyRemovesActionsFromGrants() throws {
        let findings = try F.lint([
            #"{id: admin-iam, effect: allow, actions: ["iam:*"], resources: ["arn:aws:iam::123456789012:user/bot"]}"#,
            #"{id: no-keys, effect: deny, actions: ["iam:CreateAccessKey", "iam:PassRole"], resources: ["*"]}"#,
        ])
        let credentials = try #require(findings.first { $0.rule == "REIN-L005" })
        #expect(!credentials.message.contains("iam:CreateAccessKey"))
        #expect(credentials.message.contains("iam:CreateLoginProfile"))
        let escalation = try #require(findings.first { $0.rule == "REIN-L008" })
        #expect(!escalation.message.contains("CreateAccessKey:"))
        #expect(escalation.message.contains("CreateNewPolicyVersion: iam:CreatePolicyVersion"))
    }

    @Test func wildcardsAreExpandedAgainstTheCatalog() throws {
        let reads = try F.lint([#"{id: s, effect: allow, actions: ["s3:Get*"], resources: ["arn:aws:s3:::reports/*"]}"#])
        #expect(!reads.contains { ["REIN-L005", "REIN-L008", "REIN-L009"].contains($0.rule) })
        let expansion = try #require(reads.first { $0.rule == "REIN-L003" })
        let gets = try #require(F.catalog).iamActions(prefix: "s3").filter { $0.hasPrefix("Get") }
        #expect(gets.count > 20 && gets.contains("GetObject"))
        #expect(expansion.message.contains("expands to \(gets.count) s3 actions: GetAccelerateConfiguration, "))

        let iam = try F.lint([#"{id: s, effect: allow, actions: ["iam:*"], resources: ["arn:aws:iam::123456789012:role/agent"]}"#])
        let escalation = try #require(iam.first { $0.rule == "REIN-L008" })
        #expect(escalation.severity == .error)
        for path in ["CreateNewPolicyVersion", "AttachRolePolicy", "PutRolePolicy", "AddUserToGroup"] {
            #expect(escalation.message.contains("\(path): "), "\(path) missing from \(escalation.message)")
        }
        #expect(!escalation.message.contains("PassRoleToNewLambda"), "iam:* alone cannot create a function")

        let assume = try F.lint([#"{id: s, effect: hold, actions: ["sts:Assume*"], resources: ["arn:aws:iam::123456789012:role/etl"]}"#])
        let minting = try #require(assume.first { $0.rule == "REIN-L005" })
        #expect(minting.message.contains("sts:AssumeRoleWithSAML") && minting.message.contains("sts:AssumeRoleWithWebIdentity"))
    }

    @Test func escalationConsidersTheUnionOfStatements() throws {
        let role = #"resources: ["arn:aws:iam::123456789012:role/fn"]"#
        let fn = #"resources: ["arn:aws:lambda:eu-west-1:123456789012:function:x"]"#
        let pass = #"{id: pass, effect: allow, actions: ["iam:PassRole"], \#(role)}"#
        let create = #"{id: create, effect: allow, actions: ["lambda:CreateFunction"], \#(fn)}"#

        let incomplete = try F.lint([pass, create])
        #expect(!incomplete.contains { $0.rule == "REIN-L008" }, "\(incomplete)")

        let complete = try F.lint([pass, create, #"{id: invoke, effect: allow, actions: ["lambda:InvokeFunction"], \#(fn)}"#])
        let escalation = try #require(complete.first { $0.rule == "REIN-L008" })
        #expect(escalation.severity == .error)
        #expect(escalation.statementId == "pass")
        #expect(escalation.message.contains("PassRoleToNewLambdaThenInvoke: iam:PassRole + lambda:CreateFunction (from 'create') + lambda:InvokeFunction (from 'invoke')"))

        let viaHold = try F.lint([pass, #"{id: run, effect: hold, actions: ["ec2:RunInstances"], resources: ["*"]}"#])
        let held = try #require(viaHold.first { $0.rule == "REIN-L008" })
        #expect(held.severity == .warning)
        #expect(held.message.contains("CreateEC2WithExistingInstanceProfile"))
    }

    @Test func taskWindowRules() throws {
        let ok = [Self.clean[0]]
        #expect(F.summary(try F.lint(ok, notAfter: nil)) == ["REIN-L011": .error])
        #expect(F.summary(try F.lint(ok, notBefore: "2026-05-01T00:00:00Z", notAfter: "2026-05-31T00:00:00Z"))
                == ["REIN-L012": .error])
        let long = try F.lint(ok, notBefore: nil, notAfter: "2026-06-30T01:00:00Z")
        #expect(F.summary(long) == ["REIN-L013": .warning])
        #expect(long.first?.message.contains("29d") == true)
        #expect(F.summary(try F.lint(ok, notBefore: nil, notAfter: "2026-06-30T01:00:00Z", maxTaskSeconds: 30 * 86400)) == [:])
        #expect(long.allSatisfy { $0.statementId == nil && $0.location == nil })
    }

    @Test func crossAccountNeedsTheHomeAccount() throws {
        let foreign = [#"{id: s, effect: allow, actions: ["dynamodb:GetItem"], resources: ["arn:aws:dynamodb:eu-west-1:210987654321:table/sales"]}"#]
        #expect(try F.lint(foreign, accountId: nil) == [])
        let found = try F.lint(foreign)
        #expect(found.count == 1 && found[0].message.contains("210987654321"))
    }

    @Test func findingsPointAtTheirStatementInOrder() throws {
        let findings = try F.lint([
            Self.clean[0],
            #"{id: second, effect: allow, actions: ["s3:PutBucketAcl"], resources: ["arn:aws:s3:::reports"]}"#,
            #"{id: third, effect: allow, actions: ["s3:GetObject"], resources: ["*"]}"#,
        ], notAfter: nil)
        #expect(findings.map(\.rule) == ["REIN-L011", "REIN-L009", "REIN-L004"])
        // Lines are 1-based: the header takes 9 lines, so statements start on line 10.
        #expect(findings.map { $0.location?.line } == [nil, 11, 12])
        #expect(findings.map(\.statementId) == [nil, "second", "third"])
    }
}
