import Foundation
import ReinCatalog
import Testing
@testable import ReinPolicy

/// The compiled session policy must allow a superset of what the allowlist
/// allows (or holds), checked by evaluating both on generated requests.
struct SessionPolicyCompilerTests {
    static let catalog = PolicyEvaluatorTests.catalog

    struct Rng: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return z ^ (z >> 31)
        }
    }

    /// Concrete actions a pattern stands for (a sample), via the catalog.
    static func expand(_ pattern: String, _ rng: inout Rng) -> [String] {
        if pattern == "*" { return ["s3:GetObject", "iam:CreateUser", "sqs:SendMessage"] }
        let parts = pattern.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return [] }
        let p = WildcardPattern(String(parts[1]), caseInsensitive: true)
        let all = catalog.iamActions(prefix: String(parts[0])).filter { p.matches($0) }.sorted()
        return Array(all.shuffled(using: &rng).prefix(12)).map { "\(parts[0]):\($0)" }
    }

    /// Resources a pattern stands for: its wildcards filled with random text.
    static func instantiate(_ pattern: String, _ rng: inout Rng) -> [String] {
        (0..<4).map { _ in
            pattern.map { c -> String in
                c == "*" ? ["a", "b/c", "2026/q3.csv", "", "x-y"].randomElement(using: &rng)! : c == "?" ? "z" : String(c)
            }.joined()
        }
    }

    @discardableResult
    static func checkSuperset(_ yaml: String, seed: UInt64, requireChecks: Bool = true,
                              sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> SessionPolicyCompiler.Output {
        try checkSupersetCounting(yaml, seed: seed, requireChecks: requireChecks, sourceLocation: sourceLocation).output
    }

    static func checkSupersetCounting(_ yaml: String, seed: UInt64, requireChecks: Bool,
                                      sourceLocation: Testing.SourceLocation) throws -> (output: SessionPolicyCompiler.Output, checked: Int) {
        let document = try #require(PolicyLoader.load(yaml).document, sourceLocation: sourceLocation)
        if document.statements.contains(where: { $0.effect != .deny && $0.actions.contains("*") }) {
            // Refused by design (see allowlistGrantingEverythingIsRefused); nothing to compare.
            return (SessionPolicyCompiler.Output(json: "", level: .exact, notes: [], statements: []), 0)
        }
        let output = try SessionPolicyCompiler().compile(document)
        #expect(output.json.count <= SessionPolicyCompiler.maxCharacters, sourceLocation: sourceLocation)
        #expect(!output.statements.contains { $0.effect == .allow && $0.actions.contains("*") && !document.statements.contains { $0.actions.contains("*") } },
                sourceLocation: sourceLocation)
        let allowlist = PolicyEvaluator(document)
        let session = PolicyEvaluator(PolicyDocument(agent: document.agent, task: PolicyDocument.Task(id: "s", purpose: "s"), mode: .enforce,
                                                     statements: output.statements))
        var rng = Rng(state: seed)
        var checked = 0
        for statement in document.statements {
            for actionPattern in statement.actions {
                for action in expand(actionPattern, &rng) {
                    for resourcePattern in statement.resources {
                        for resource in instantiate(resourcePattern, &rng) + ["arn:aws:s3:::other/x", "*"] {
                            let ctx = ConditionContext.standard(now: 1_795_000_000, region: "eu-west-1", agentId: document.agent.id,
                                                                taskId: document.task.id, mode: .enforce, extra: ["s3:prefix": ["2026/q3"]])
                            let a = allowlist.decide(action: action, resource: resource, context: ctx)
                            guard a.effect != .deny else { continue }
                            checked += 1
                            let s = session.decide(action: action, resource: resource, context: ConditionContext(now: 0))
                            #expect(s.effect == .allow, "\(action) on \(resource): allowlist \(a.effect) but session policy \(s.effect)\n\(output.json)",
                                    sourceLocation: sourceLocation)
                        }
                    }
                }
            }
        }
        if requireChecks { #expect(checked > 0, sourceLocation: sourceLocation) }
        return (output, checked)
    }

    @Test func exampleCompilesExactlyAndIsASuperset() throws {
        let output = try Self.checkSuperset(PolicyEvaluatorTests.example, seed: 1)
        #expect(output.level == .exact)
        #expect(output.json.contains(#""Effect":"Deny""#) && output.json.contains(#""iam:*""#))
        #expect(output.json.contains(#""Sid":"readsalesdata""#))
        #expect(output.notes.contains { $0.contains("conditions of allow and hold statements are dropped") })
    }

    @Test func largePolicyIsWidenedStepByStep() throws {
        var statements = ""
        for i in 0..<40 {
            statements += """
              - id: read-\(i)
                effect: allow
                actions: [s3:GetObject, s3:GetObjectTagging]
                resources: ["arn:aws:s3:::datalake-bucket-for-team/partition-\(i)/year=2026/*", "arn:aws:s3:::datalake-bucket-for-team/partition-\(i)/year=2025/*"]

            """
        }
        let yaml = "apiVersion: rein.dev/v1alpha1\nkind: TaskPolicy\nagent: {id: a, owner: o}\ntask: {id: t, purpose: p}\nstatements:\n" + statements
        let output = try Self.checkSuperset(yaml, seed: 2)
        #expect(output.level > .exact)
        #expect(output.notes.contains { $0.hasPrefix("widened") })
    }

    @Test func manyServicesWidenToServiceLevelButNeverToStar() throws {
        let services = ["s3", "dynamodb", "sqs", "sns", "lambda", "kms", "secretsmanager", "logs", "ec2", "ssm", "glue", "athena",
                        "kinesis", "firehose", "events", "states", "ecr", "ecs", "iam", "sts", "cloudwatch", "rds", "elasticloadbalancing"]
        var statements = ""
        for (i, service) in services.enumerated() {
            let actions = Self.catalog.iamActions(prefix: service).sorted().prefix(25).map { "\(service):\($0)" }
            statements += "  - id: s\(i)\n    effect: allow\n    actions: [\(actions.joined(separator: ", "))]\n    resources: [\"*\"]\n"
        }
        let yaml = "apiVersion: rein.dev/v1alpha1\nkind: TaskPolicy\nagent: {id: a, owner: o}\ntask: {id: t, purpose: p}\nstatements:\n" + statements
        let output = try Self.checkSuperset(yaml, seed: 3)
        #expect(output.level == .serviceLevel)
        #expect(!output.json.contains(#""*:*""#) && !output.json.contains(#"["*"],"Effect""#))
        #expect(output.json.contains(#""s3:*""#))
    }

    @Test func mergePrefixesWidensOnlyWithinOneService() {
        let merged = SessionPolicyCompiler.mergePrefixes(["arn:aws:s3:::b/a/1", "arn:aws:s3:::b/a/2", "arn:aws:dynamodb:us-east-1:123456789012:table/T"])
        #expect(merged == ["arn:aws:dynamodb:us-east-1:123456789012:table/T", "arn:aws:s3:::b/a/*"])
    }
}

extension SessionPolicyCompilerTests {
    /// Every policy of the committed comparison corpus compiles to a session
    /// policy that allows a superset of what it allows.
    @Test func everyCorpusPolicyCompilesToASuperset() throws {
        let dir = PolicyEvaluatorTests.root.appendingPathComponent("Tests/interop/policy_corpus")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") && $0 != "expectations.yaml" }.sorted()
        #expect(files.count >= 30)
        var total = 0
        for (i, file) in files.enumerated() {
            // Some corpus policies are expired or deny-only on purpose: they allow nothing to compare.
            let yaml = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            total += try Self.checkSupersetCounting(yaml, seed: UInt64(100 + i), requireChecks: false, sourceLocation: #_sourceLocation).checked
        }
        #expect(total > 400, "only \(total) allowed requests were compared")
    }
}

extension SessionPolicyCompilerTests {
    /// An allowlist that grants every action cannot be compiled: the session
    /// policy would need "*", which Rein never emits.
    @Test func allowlistGrantingEverythingIsRefused() throws {
        let yaml = "apiVersion: rein.dev/v1alpha1\nkind: TaskPolicy\nagent: {id: a, owner: o}\ntask: {id: t, purpose: p}\nstatements:\n  - {id: all, effect: allow, actions: [\"*\"], resources: [\"*\"]}\n"
        let document = try #require(PolicyLoader.load(yaml).document)
        do {
            _ = try SessionPolicyCompiler().compile(document)
            Issue.record("compiled an allowlist that grants everything")
        } catch {
            #expect(error.grantsEverything)
        }
    }
}

extension SessionPolicyCompilerTests {
    /// A smaller budget (after STS reports PackedPolicyTooLarge) widens further.
    @Test func smallerBudgetWidensFurther() throws {
        let document = try #require(PolicyLoader.load(PolicyEvaluatorTests.example).document)
        let full = try SessionPolicyCompiler().compile(document)
        let tight = try SessionPolicyCompiler(maxCharacters: full.json.count - 1).compile(document)
        #expect(tight.level > full.level)
        #expect(tight.json.count < full.json.count)
    }
}
