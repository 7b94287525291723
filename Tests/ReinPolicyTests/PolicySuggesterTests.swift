import Foundation
import ReinCatalog
import Testing
@testable import ReinPolicy

struct PolicySuggesterTests {
    static let audit = """
    {"time":"2026-11-18T10:00:00Z","agent_id":"report-writer","task_id":"q3","service":"s3","operation":"GetObject","decision":"allow","grants":[{"action":"s3:GetObject","resources":["arn:aws:s3:::sales-data/2026/q1.csv"]}],"latency_ms":{"total":3}}
    {"time":"2026-11-18T10:00:01Z","agent_id":"report-writer","task_id":"q3","service":"s3","operation":"GetObject","decision":"allow","grants":[{"action":"s3:GetObject","resources":["arn:aws:s3:::sales-data/2026/q2.csv"]}]}

    {"time":"2026-11-18T10:00:02Z","agent_id":"report-writer","task_id":"q3","service":"s3","operation":"ListObjectsV2","decision":"allow","grants":[{"action":"s3:ListBucket","resources":["arn:aws:s3:::sales-data"]}]}
    {"time":"2026-11-18T10:00:03Z","agent_id":"report-writer","task_id":"q3","service":"dynamodb","operation":"PutItem","decision":"allow","grants":[{"action":"dynamodb:PutItem","resources":["arn:aws:dynamodb:eu-west-1:123456789012:table/reports"]}]}
    {"time":"2026-11-18T10:00:04Z","agent_id":"report-writer","task_id":"q3","service":"sts","operation":"GetCallerIdentity","decision":"allow","grants":[{"action":"sts:GetCallerIdentity","resources":["*"]}]}
    {"time":"2026-11-18T10:00:05Z","agent_id":"report-writer","task_id":"q3","service":"iam","operation":"CreateUser","decision":"deny","grants":[{"action":"iam:CreateUser","resources":["arn:aws:iam::123456789012:user/x"]}]}
    """

    @Test func minimalAllowlistAllowsExactlyWhatWasObserved() throws {
        let calls = try PolicySuggester.read(jsonl: Self.audit)
        #expect(calls.count == 6)
        let document = PolicySuggester().suggest(calls, agent: .init(id: "report-writer", owner: "o"),
                                                 task: .init(id: "q3", purpose: "p", notBefore: nil, notAfter: 1_800_000_000))
        let e = PolicyEvaluator(document)
        let ctx = ConditionContext(now: 1_795_000_000)
        for call in calls where call.decision == "allow" {
            for g in call.grants { for r in g.resources { #expect(e.decide(action: g.action, resource: r, context: ctx).effect == .allow) } }
        }
        // Nothing more: another object, another table, the denied call.
        #expect(e.decide(action: "s3:GetObject", resource: "arn:aws:s3:::sales-data/2026/q3.csv", context: ctx).effect == .deny)
        #expect(e.decide(action: "dynamodb:DeleteItem", resource: "arn:aws:dynamodb:eu-west-1:123456789012:table/reports", context: ctx).effect == .deny)
        #expect(e.decide(action: "iam:CreateUser", resource: "arn:aws:iam::123456789012:user/x", context: ctx).effect == .deny)
        // The YAML round-trips through the loader and validates.
        let yaml = PolicySuggester.yaml(document)
        let reloaded = try #require(PolicyLoader.load(yaml).document, "\(PolicyLoader.load(yaml).problems)\n\(yaml)")
        #expect(reloaded.statements.map { [$0.id, $0.effect.rawValue] + $0.actions + $0.resources }
                == document.statements.map { [$0.id, $0.effect.rawValue] + $0.actions + $0.resources })
        #expect(reloaded.task == document.task && reloaded.agent == document.agent)
        #expect(PolicyValidator(catalog: PolicyEvaluatorTests.catalog).validate(reloaded, now: 1_795_000_000).isEmpty)
    }

    /// Held calls never become standing grants, whatever became of the
    /// hold; observe mode's would-denies do.
    @Test func heldCallsAreLeftOutAndWouldDeniesKept() throws {
        func line(_ decision: String, _ key: String) -> String {
            #"{"decision":"\#(decision)","grants":[{"action":"s3:DeleteObject","resources":["arn:aws:s3:::b/\#(key)"]}]}"#
        }
        let text = ["hold", "hold-pending", "hold-approved", "hold-denied", "hold-expired", "would-hold", "would-deny", "error"]
            .map { line($0, $0) }.joined(separator: "\n")
        let document = PolicySuggester().suggest(try PolicySuggester.read(jsonl: text), agent: .init(id: "a", owner: "o"),
                                                 task: .init(id: "t", purpose: "p"))
        #expect(document.statements.flatMap(\.resources) == ["arn:aws:s3:::b/would-deny"])
    }

    @Test func prefixesOnlyWhenAsked() throws {
        let calls = try PolicySuggester.read(jsonl: Self.audit)
        let exact = PolicySuggester().suggest(calls, agent: .init(id: "a", owner: "o"), task: .init(id: "t", purpose: "p"))
        #expect(exact.statements.flatMap(\.resources).contains("arn:aws:s3:::sales-data/2026/q1.csv"))
        let merged = PolicySuggester(mergePrefixes: true).suggest(calls, agent: .init(id: "a", owner: "o"), task: .init(id: "t", purpose: "p"))
        #expect(merged.statements.flatMap(\.resources).contains("arn:aws:s3:::sales-data/2026/q*"))
    }

    @Test func malformedLinesAreErrorsWithTheirNumber() {
        #expect(throws: PolicySuggester.InputError.self) { try PolicySuggester.read(jsonl: "{\"grants\": []}\nnot json\n") }
    }
}
