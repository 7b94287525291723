import Foundation
import ReinCatalog
import ReinPolicy

/// A policy of `n` statements over several services, each with a condition,
/// plus a deny and a hold, in YAML.
func benchmarkPolicy(statements n: Int) -> String {
    let services = ["s3", "dynamodb", "sqs", "sns", "lambda", "kms", "logs", "secretsmanager"]
    var yaml = "apiVersion: rein.dev/v1alpha1\nkind: TaskPolicy\nagent: {id: bench, owner: o}\n"
    yaml += "task: {id: t, purpose: p, notAfter: 2030-01-01T00:00:00Z}\nstatements:\n"
    yaml += "  - {id: no-iam, effect: deny, actions: [\"iam:*\"], resources: [\"*\"]}\n"
    yaml += "  - {id: deletes, effect: hold, actions: [s3:DeleteObject], resources: [\"arn:aws:s3:::bench-*/*\"]}\n"
    for i in 0..<max(0, n - 2) {
        let svc = services[i % services.count]
        let (action, resource): (String, String)
        switch svc {
        case "s3": (action, resource) = ("s3:GetObject", "arn:aws:s3:::bench-\(i)/data/*")
        case "dynamodb": (action, resource) = ("dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-\(i)")
        case "sqs": (action, resource) = ("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:bench-\(i)")
        case "sns": (action, resource) = ("sns:Publish", "arn:aws:sns:eu-west-1:123456789012:bench-\(i)")
        case "lambda": (action, resource) = ("lambda:InvokeFunction", "arn:aws:lambda:eu-west-1:123456789012:function:bench-\(i)")
        case "kms": (action, resource) = ("kms:Decrypt", "arn:aws:kms:eu-west-1:123456789012:key/bench-\(i)")
        case "logs": (action, resource) = ("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:bench-\(i):*")
        default: (action, resource) = ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-\(i)-*")
        }
        yaml += "  - id: s\(i)\n    effect: allow\n    actions: [\(action)]\n    resources: [\"\(resource)\"]\n"
        yaml += "    conditions:\n      StringEquals: {aws:RequestedRegion: [eu-west-1, us-east-1]}\n"
    }
    return yaml
}

/// Decision time for 5- and 50-statement policies with conditions, and
/// load time for a 1,000-statement policy.
func runPolicyBenchmark() {
    print("Rein policy benchmark")
    let context = ConditionContext.standard(now: 1_795_000_000, region: "eu-west-1", agentId: "bench", taskId: "t", mode: .enforce)
    var results: [String] = []
    for n in [5, 50] {
        guard let document = PolicyLoader.load(benchmarkPolicy(statements: n)).document else { fatalError("bench policy does not load") }
        let evaluator = PolicyEvaluator(document)
        // The last allow statement's resource: the worst case for a scan.
        let last = document.statements.last(where: { $0.effect == .allow })!
        let resource = last.resources[0].replacingOccurrences(of: "*", with: "x")
        let request = DecisionRequest(verdict: .known(ResolvedRequest(
            service: "s", signingName: "s", region: "eu-west-1", operation: "o", protocol: .json, jsonVersion: nil,
            grants: [ActionResources(action: last.actions[0], resources: [resource])])), context: context)
        guard evaluator.decide(request).effect == .allow else { fatalError("bench request is not allowed") }
        let ns = measure("decide, \(n)-statement policy with conditions", iterations: 40_000, rounds: 25) { blackHole(evaluator.decide(request)) }
        results.append(String(format: "decide_%d_us=%.2f", n, ns / 1000))
    }
    let big = benchmarkPolicy(statements: 1000)
    let clock = ContinuousClock()
    var best = Duration.seconds(1000)
    for _ in 0..<5 {
        let start = clock.now
        guard let document = PolicyLoader.load(big).document else { fatalError("1000-statement policy does not load") }
        blackHole(PolicyEvaluator(document))
        best = min(best, clock.now - start)
    }
    let ms = Double(best.components.seconds) * 1e3 + Double(best.components.attoseconds) / 1e15
    print(String(format: "load + compile, 1,000-statement policy        %10.1f ms", ms))
    print("RESULT " + results.joined(separator: " ") + String(format: " load_1000_ms=%.1f target_decide_us=2.00", ms))
}
