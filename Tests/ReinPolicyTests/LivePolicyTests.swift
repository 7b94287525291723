import Testing
@testable import ReinPolicy

/// Reloads are atomic: concurrent deciders see the old policy or the new
/// one in full, never a mix; a broken policy never replaces a good one.
struct LivePolicyTests {
    static func policy(_ allowed: String, version: Int) -> String {
        """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: a, owner: o}
        task: {id: v\(version), purpose: p}
        statements:
          - {id: read-\(version), effect: allow, actions: [s3:GetObject], resources: ["arn:aws:s3:::\(allowed)/*"]}
          - {id: list-\(version), effect: allow, actions: [s3:ListBucket], resources: ["arn:aws:s3:::\(allowed)"]}
        """
    }

    /// A refused policy (a central version this sidecar cannot apply)
    /// denies every request with its reason, and a later good one lifts it.
    @Test func aRefusedPolicyDeniesEverythingWithItsReason() throws {
        let good = try #require(PolicyLoader.load(Self.policy("data", version: 1)).document)
        let live = LivePolicy(good)
        let request = DecisionRequest(verdict: PolicyEvaluatorTests.verdict([("s3:GetObject", ["arn:aws:s3:::data/k"])]),
                                      context: ConditionContext(now: 0))
        #expect(live.current.decide(request).effect == .allow)
        live.refuse(good, reason: "the central policy version 7 cannot be applied on this sidecar (unknown action)")
        let refused = live.current.decide(request)
        #expect(refused.effect == .deny && refused.reason.contains("version 7 cannot be applied"))
        #expect(live.current.refusal != nil && live.current.document.agent.id == "a")
        live.replace(with: good)
        #expect(live.current.decide(request).effect == .allow && live.current.refusal == nil)
    }

    @Test func concurrentDecisionsNeverMixPolicies() async throws {
        let live = LivePolicy(try #require(PolicyLoader.load(Self.policy("old", version: 1)).document))
        let ctx = ConditionContext(now: 0)
        let mixed = await withTaskGroup(of: Int.self) { group in
            group.addTask {
                for i in 0..<400 {
                    _ = live.reload(Self.policy(i % 2 == 0 ? "new" : "old", version: i % 2 == 0 ? 2 : 1))
                }
                return 0
            }
            for _ in 0..<4 {
                group.addTask {
                    var bad = 0
                    for _ in 0..<3000 {
                        let e = live.current
                        // One request with two pairs, decided with one evaluator.
                        let get = e.decide(action: "s3:GetObject", resource: "arn:aws:s3:::old/k", context: ctx).effect
                        let list = e.decide(action: "s3:ListBucket", resource: "arn:aws:s3:::old", context: ctx).effect
                        if get != list { bad += 1 }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mixed == 0)
    }

    @Test func brokenPolicyKeepsTheGoodOne() throws {
        let live = LivePolicy(try #require(PolicyLoader.load(Self.policy("old", version: 1)).document))
        let problems = live.reload("statements: [")
        #expect(!problems.isEmpty)
        #expect(live.current.document.task.id == "v1")
        #expect(live.current.decide(action: "s3:GetObject", resource: "arn:aws:s3:::old/k", context: ConditionContext(now: 0)).effect == .allow)
    }
}
