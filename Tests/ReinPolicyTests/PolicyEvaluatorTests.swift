import Foundation
import ReinCatalog
import Testing
@testable import ReinPolicy

struct PolicyEvaluatorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let example = try! String(contentsOf: root.appendingPathComponent("Deploy/examples/policy.yaml"), encoding: .utf8)
    static let now: Int64 = 1_795_000_000 // 2026-11-18
    static let catalog: ServiceCatalog = { do { return try ServiceCatalog.bundled() } catch { fatalError("\(error)") } }()

    static func evaluator(_ yaml: String = example) throws -> PolicyEvaluator {
        let loaded = PolicyLoader.load(yaml)
        let document = try #require(loaded.document, "\(loaded.problems)")
        return PolicyEvaluator(document)
    }

    static func context(region: String = "eu-west-1", extra: [String: [String]] = [:], now: Int64 = now) -> ConditionContext {
        .standard(now: now, region: region, agentId: "report-writer", taskId: "q3-sales-report", mode: .enforce, extra: extra)
    }

    static func verdict(_ pairs: [(String, [String])]) -> CatalogVerdict {
        .known(ResolvedRequest(service: "s3", signingName: "s3", region: "eu-west-1", operation: "Op", protocol: .restXML,
                               jsonVersion: nil, grants: pairs.map { ActionResources(action: $0.0, resources: $0.1) }))
    }

    @Test func exampleLoadsAndValidatesCleanly() throws {
        let loaded = PolicyLoader.load(Self.example)
        #expect(loaded.problems.isEmpty, "\(loaded.problems)")
        let document = try #require(loaded.document)
        #expect(document.statements.count == 5)
        #expect(PolicyValidator(catalog: Self.catalog).validate(document, now: Self.now).isEmpty)
    }

    @Test func allowHoldDenyAndDefault() throws {
        let e = try Self.evaluator()
        let read = e.decide(DecisionRequest(verdict: Self.verdict([("s3:GetObject", ["arn:aws:s3:::sales-data/2026/q3.csv"])]), context: Self.context()))
        #expect(read.effect == .allow && read.statementId == "read-sales-data")
        let old = e.decide(DecisionRequest(verdict: Self.verdict([("s3:GetObject", ["arn:aws:s3:::sales-data/2025/q3.csv"])]), context: Self.context()))
        #expect(old.effect == .deny && old.statementId == nil)
        #expect(old.reason.contains("no statement of task q3-sales-report allows s3:GetObject on arn:aws:s3:::sales-data/2025/q3.csv"))
        let delete = e.decide(DecisionRequest(verdict: Self.verdict([("s3:DeleteObject", ["arn:aws:s3:::sales-reports/q3/draft.pdf"])]), context: Self.context()))
        #expect(delete.effect == .hold && delete.statementId == "deletes-need-approval")
        let iam = e.decide(DecisionRequest(verdict: Self.verdict([("iam:CreateUser", ["arn:aws:iam::123456789012:user/x"])]), context: Self.context()))
        #expect(iam.effect == .deny && iam.statementId == "no-iam")
    }

    @Test func everyPairMustBeAllowed() throws {
        let e = try Self.evaluator()
        // A copy whose source read is allowed but whose destination is not.
        let d = e.decide(DecisionRequest(verdict: Self.verdict([
            ("s3:PutObject", ["arn:aws:s3:::elsewhere/x"]), ("s3:GetObject", ["arn:aws:s3:::sales-data/2026/a"]),
        ]), context: Self.context()))
        #expect(d.effect == .deny && d.action == "s3:PutObject")
        // Deny beats hold beats allow across pairs.
        let h = e.decide(DecisionRequest(verdict: Self.verdict([
            ("s3:GetObject", ["arn:aws:s3:::sales-data/2026/a"]), ("s3:DeleteObject", ["arn:aws:s3:::sales-reports/x"]),
        ]), context: Self.context()))
        #expect(h.effect == .hold)
    }

    @Test func conditions() throws {
        let e = try Self.evaluator()
        let put = Self.verdict([("s3:PutObject", ["arn:aws:s3:::sales-reports/q3/r.pdf"])])
        #expect(e.decide(DecisionRequest(verdict: put, context: Self.context(region: "eu-west-1"))).effect == .allow)
        #expect(e.decide(DecisionRequest(verdict: put, context: Self.context(region: "us-east-1"))).effect == .deny)
        let list = Self.verdict([("s3:ListBucket", ["arn:aws:s3:::sales-data"])])
        #expect(e.decide(DecisionRequest(verdict: list, context: Self.context(extra: ["s3:prefix": ["2026/q3/"]]))).effect == .allow)
        #expect(e.decide(DecisionRequest(verdict: list, context: Self.context(extra: ["s3:prefix": ["2025/"]]))).effect == .deny)
        // No prefix at all: StringLike without IfExists fails.
        #expect(e.decide(DecisionRequest(verdict: list, context: Self.context())).effect == .deny)
    }

    @Test func conditionOperatorsAndQualifiers() {
        func holds(_ c: Condition, _ values: [String: [String]]) -> Bool { ConditionMatcher(c).holds(in: ConditionContext(now: 0, values: values)) }
        #expect(holds(Condition(operator: .numericLessThanEquals, key: "s3:max-keys", values: ["100"]), ["s3:max-keys": ["50"]]))
        #expect(!holds(Condition(operator: .numericLessThanEquals, key: "s3:max-keys", values: ["100"]), ["s3:max-keys": ["500"]]))
        #expect(holds(Condition(operator: .stringEquals, ifExists: true, key: "s3:prefix", values: ["a"]), [:]))
        #expect(!holds(Condition(operator: .stringEquals, key: "s3:prefix", values: ["a"]), [:]))
        #expect(holds(Condition(qualifier: .forAllValues, operator: .stringEquals, key: "dynamodb:LeadingKeys", values: ["u1", "u2"]),
                      ["dynamodb:LeadingKeys": ["u1", "u2"]]))
        #expect(!holds(Condition(qualifier: .forAllValues, operator: .stringEquals, key: "dynamodb:LeadingKeys", values: ["u1"]),
                       ["dynamodb:LeadingKeys": ["u1", "u9"]]))
        #expect(holds(Condition(qualifier: .forAnyValue, operator: .stringEquals, key: "dynamodb:LeadingKeys", values: ["u1"]),
                      ["dynamodb:LeadingKeys": ["u1", "u9"]]))
        #expect(holds(Condition(operator: .ipAddress, key: "aws:SourceIp", values: ["10.0.0.0/8"]), ["aws:SourceIp": ["10.1.2.3"]]))
        #expect(!holds(Condition(operator: .ipAddress, key: "aws:SourceIp", values: ["10.0.0.0/8"]), ["aws:SourceIp": ["11.1.2.3"]]))
        #expect(holds(Condition(operator: .dateLessThan, key: "aws:CurrentTime", values: ["2027-01-01T00:00:00Z"]), ["aws:CurrentTime": ["2026-11-18T00:00:00Z"]]))
        #expect(holds(Condition(operator: .bool, key: "aws:SecureTransport", values: ["true"]), ["aws:SecureTransport": ["true"]]))
        #expect(holds(Condition(operator: .stringNotLike, key: "rein:Mode", values: ["learn"]), ["rein:Mode": ["enforce"]]))
    }

    @Test func unknownAndExpiredDenyEverything() throws {
        let e = try Self.evaluator()
        let unknown = e.decide(DecisionRequest(verdict: .unknown(UnknownReason(.unknownOperation, "no such operation")), context: Self.context()))
        #expect(unknown.effect == .deny && unknown.reason.contains("cannot fully understand"))
        let late = e.decide(DecisionRequest(verdict: Self.verdict([("s3:GetObject", ["arn:aws:s3:::sales-data/2026/a"])]),
                                            context: Self.context(now: 1_900_000_000)))
        #expect(late.effect == .deny && late.reason.contains("expired"))
    }

    @Test func loaderReportsEveryProblemWithLineAndColumn() {
        let bad = """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: a}
        task: {id: t, purpose: p, notAfter: yesterday}
        mode: paranoid
        statements:
          - id: s1
            effect: permit
            actions: [s3:GetObject]
            resources: ["*"]
            colour: blue
          - id: s1
            effect: allow
            actions: []
            resources: ["*"]
            conditions:
              StringSmells: {aws:RequestedRegion: eu-west-1}
        """
        let result = PolicyLoader.load(bad)
        #expect(result.document == nil)
        let messages = result.problems.map(\.description).joined(separator: "\n")
        #expect(messages.contains("agent needs a non-empty 'owner'"))
        #expect(messages.contains("notAfter must be an RFC 3339"))
        #expect(messages.contains("5:7: error REIN-P004: mode must be one of"))
        #expect(messages.contains("effect must be allow, deny or hold"))
        #expect(messages.contains("unknown key 'colour'"))
        #expect(messages.contains("statement id 's1' is used twice"))
        #expect(messages.contains("unknown condition operator 'StringSmells'"))
        #expect(result.problems.allSatisfy { $0.location != nil || $0.message.contains("needs") })
    }

    @Test func validatorFindsSemanticProblems() throws {
        let yaml = """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: a, owner: o}
        task: {id: t, purpose: p, notAfter: 2020-01-01T00:00:00Z}
        statements:
          - id: typo
            effect: allow
            actions: [s3:GetObjekt, dynamo:PutItem, s3:Get*]
            resources: ["arn:aws:s3:::b/*", "not-an-arn", "arn:aws:dynamodb:us-east-1:123456789012:table/T"]
            conditions:
              StringEquals: {aws:PrincipalOrgID: o-123}
        """
        let document = try #require(PolicyLoader.load(yaml).document)
        let problems = PolicyValidator(catalog: Self.catalog).validate(document, now: Self.now).map(\.description).joined(separator: "\n")
        #expect(problems.contains("'s3:GetObjekt' in 'typo' matches no s3 action (did you mean s3:GetObject"))
        #expect(problems.contains("'dynamo' in 'dynamo:PutItem'"))
        #expect(problems.contains("'not-an-arn' in 'typo' is not an ARN"))
        #expect(problems.contains("'arn:aws:dynamodb:us-east-1:123456789012:table/T' in 'typo' can never match"))
        #expect(problems.contains("condition key 'aws:PrincipalOrgID'"))
        #expect(problems.contains("expired at 2020-01-01T00:00:00Z"))
    }

    @Test func jsonPoliciesLoadToo() throws {
        let json = #"{"apiVersion":"rein.dev/v1alpha1","kind":"TaskPolicy","agent":{"id":"a","owner":"o"},"task":{"id":"t","purpose":"p"},"statements":[{"id":"s","effect":"allow","actions":["sqs:SendMessage"],"resources":["arn:aws:sqs:us-east-1:123456789012:jobs"]}]}"#
        let e = try Self.evaluator(json)
        let d = e.decide(action: "sqs:SendMessage", resource: "arn:aws:sqs:us-east-1:123456789012:jobs", context: ConditionContext(now: 0))
        #expect(d.effect == .allow)
    }
}
