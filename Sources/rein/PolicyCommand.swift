import ArgumentParser
import Foundation
import ReinCatalog
import ReinPolicy
import ReinSigV4

struct PolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Validate, explain and lint task-scoped allowlists, and manage them centrally on the collector.",
        subcommands: [PolicyValidateCommand.self, PolicyExplainCommand.self, PolicyLintCommand.self, PolicySessionPolicyCommand.self,
                      PolicySuggestCommand.self, PolicyPushCommand.self, PolicyListCommand.self, PolicyShowCommand.self,
                      PolicyDiffCommand.self, PolicyHistoryCommand.self, PolicyRollbackCommand.self])
}

/// Loads a policy file, printing structural problems the way compilers do.
enum PolicyFile {
    static func load(_ path: String) throws -> PolicyDocument {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let result = PolicyLoader.load(String(decoding: data, as: UTF8.self))
        for problem in result.problems { printProblem(problem, path: path) }
        guard let document = result.document else { throw ExitCode(1) }
        return document
    }

    static func printProblem(_ problem: PolicyProblem, path: String) {
        let place = problem.location.map { "\(path):\($0.line):\($0.column)" } ?? path
        FileHandle.standardError.write(Data("\(place): \(problem.severity.rawValue) \(problem.rule): \(problem.message)\n".utf8))
    }
}

/// `rein policy validate FILE`: every problem, with its line and column.
struct PolicyValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a policy's structure and its actions, ARNs, condition keys and expiry. Exits 1 on any error.")

    @Argument(help: "The policy file (YAML or JSON).")
    var file: String

    @Option(help: "Validate as of this time (ISO 8601) instead of now.")
    var at: String?

    func run() throws {
        let document = try PolicyFile.load(file)
        let now = try PolicyTime.now(at)
        let problems = PolicyValidator(catalog: try ServiceCatalog.bundled()).validate(document, now: now)
        for problem in problems { PolicyFile.printProblem(problem, path: file) }
        if problems.contains(where: { $0.severity == .error }) { throw ExitCode(1) }
        print("\(file): valid (\(document.statements.count) statements, agent \(document.agent.id), task \(document.task.id), mode \(document.mode.rawValue))")
    }
}

/// `rein policy explain`: the decision for an action/resource, or a captured request, and why.
struct PolicyExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the decision a policy makes for a request, and which statement made it.",
        discussion: """
            Give either --action and --resource (each repeatable; every action is paired \
            with every resource), or --request with a raw HTTP/1.1 request as sent on \
            the wire (its actions and resources come from the AWS catalog, as in the sidecar).
            """)

    @Option(help: "The policy file (YAML or JSON).")
    var policy: String

    @Option(help: "An IAM action, e.g. s3:GetObject.")
    var action: [String] = []

    @Option(help: "A resource ARN, or *.")
    var resource: [String] = []

    @Option(help: "A captured request to decide instead: raw HTTP, or an audit record (JSON with grants).")
    var request: String?

    @Option(help: "With --request: the broker's account for ARNs (env REIN_ACCOUNT_ID).")
    var account: String?

    @Option(help: "aws:RequestedRegion (default: the request's, else us-east-1).")
    var region: String?

    @Option(help: "Decide as of this time (ISO 8601) instead of now.")
    var at: String?

    @Option(help: "Extra condition key values, key=value (repeatable), e.g. s3:prefix=2026/.")
    var context: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let document = try PolicyFile.load(policy)
        let now = try PolicyTime.now(at)
        var extra: [String: [String]] = [:]
        for item in context {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--context takes key=value, got \(item)") }
            extra[String(item[..<eq]), default: []].append(String(item[item.index(after: eq)...]))
        }
        let verdict: CatalogVerdict
        var requestRegion = region ?? "us-east-1"
        if let request, let call = try? JSONDecoder().decode(ObservedCall.self, from: Data(try InputFile.read(request))), !call.grants.isEmpty {
            // A captured call in audit JSON form: its grants as recorded.
            verdict = .known(ResolvedRequest(service: call.service ?? "-", signingName: "-", region: requestRegion, operation: call.operation ?? "-",
                                             protocol: .json, jsonVersion: nil,
                                             grants: call.grants.map { ActionResources(action: $0.action, resources: $0.resources) }))
        } else if let request {
            guard let account = account ?? ProcessInfo.processInfo.environment["REIN_ACCOUNT_ID"] else {
                throw ValidationError("--request needs --account or REIN_ACCOUNT_ID")
            }
            let raw: RawHTTPRequest
            do { raw = try RawHTTPRequest.parse(try InputFile.read(request)) } catch let e as RawHTTPRequest.ParseError {
                throw ValidationError(e.description)
            }
            let scope: CredentialScope
            do { scope = try SigV4Authorization.parse(raw.request).scope } catch { throw ValidationError("no SigV4 scope: \(error.message)") }
            requestRegion = region ?? scope.region
            let catalogRequest = CatalogRequest(raw.request, body: .bytes(raw.body), scope: scope)
            verdict = RequestAnalyzer(catalog: try ServiceCatalog.bundled(), accountId: account, resolver: try? EndpointResolver.bundled()).analyze(catalogRequest)
            for (key, name) in [("s3:prefix", "prefix"), ("s3:max-keys", "max-keys"), ("s3:delimiter", "delimiter")] where extra[key] == nil {
                if let value = raw.request.queryParameters.first(where: { $0.key == name })?.value { extra[key] = [value] }
            }
        } else {
            guard !action.isEmpty, !resource.isEmpty else { throw ValidationError("give --action and --resource, or --request") }
            verdict = .known(ResolvedRequest(service: "-", signingName: "-", region: requestRegion, operation: "-",
                                             protocol: .json, jsonVersion: nil,
                                             grants: action.map { ActionResources(action: $0, resources: resource) }))
        }
        let ctx = ConditionContext.standard(now: now, region: requestRegion, agentId: document.agent.id, taskId: document.task.id,
                                            mode: document.mode, extra: extra)
        let evaluator = PolicyEvaluator(document)
        let decision = evaluator.decide(DecisionRequest(verdict: verdict, context: ctx))
        var pairs: [PairDecision] = []
        if case .known(let r) = verdict {
            for g in r.grants {
                for res in g.resources {
                    let d = evaluator.decide(action: g.action, resource: res, context: ctx)
                    pairs.append(PairDecision(action: g.action, resource: res, effect: d.effect.rawValue, statement: d.statementId, reason: d.reason))
                }
            }
        }
        let report = PolicyExplanation(decision: decision.effect.rawValue, statement: decision.statementId, reason: decision.reason,
                                       mode: document.mode.rawValue, pairs: pairs)
        if json {
            print(try JSONOutput.encode(report))
        } else {
            print("DECISION: \(report.decision)\(report.statement.map { " (statement \($0))" } ?? "") — \(report.reason)")
            for p in pairs { print("  \(p.effect.padding(6)) \(p.action) on \(p.resource)\(p.statement.map { "  [\($0)]" } ?? "")") }
        }
        if decision.effect == .deny { throw ExitCode(1) }
    }
}

struct PairDecision: Encodable {
    let action: String
    let resource: String
    let effect: String
    let statement: String?
    let reason: String
}

struct PolicyExplanation: Encodable {
    let decision: String
    let statement: String?
    let reason: String
    let mode: String
    let pairs: [PairDecision]
}

enum PolicyTime {
    static func now(_ at: String?) throws -> Int64 {
        guard let at else { return Int64(Date().timeIntervalSince1970) }
        guard let t = AmzDate.parseISO8601(at) else { throw ValidationError("--at must be an ISO 8601 UTC time such as 2026-11-18T00:00:00Z") }
        return t
    }
}

/// `rein policy session-policy FILE`: the IAM session policy for the broker's AssumeRole.
struct PolicySessionPolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session-policy",
        abstract: "Compile the allowlist into an IAM session policy (defence in depth at AWS).",
        discussion: """
            Prints the policy JSON on standard output and, on standard error, how it was \
            built: exact, or widened (ARNs merged into prefixes, then action level, then \
            service level) to fit STS's 2,048-character limit. It is never narrower than \
            the allowlist.
            """)

    @Argument(help: "The policy file (YAML or JSON).")
    var file: String

    @Option(help: "Character budget (at most 2048); lower it when STS reports PackedPolicyTooLarge.")
    var maxCharacters: Int = SessionPolicyCompiler.maxCharacters

    func run() throws {
        let document = try PolicyFile.load(file)
        do {
            let output = try SessionPolicyCompiler(maxCharacters: maxCharacters).compile(document)
            print(output.json)
            for note in output.notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        } catch {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `rein policy suggest --from AUDIT.jsonl`: the minimal allowlist for what was observed.
struct PolicySuggestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suggest",
        abstract: "Suggest the minimal task-scoped allowlist that would have allowed the observed calls.")

    @Option(help: "Audit records, one JSON object per line (rein's audit JSONL).")
    var from: String

    @Option(help: "Agent id (default: from the records).")
    var agent: String?

    @Option(help: "Agent owner to write into the policy.")
    var owner: String = "TODO: owner"

    @Option(help: "Task id (default: from the records).")
    var task: String?

    @Option(help: "How long the suggested task may run, e.g. 8h or 7d.")
    var expiresIn: String = "7d"

    @Flag(help: "Merge ARNs into common prefixes (default: exact ARNs).")
    var prefixes = false

    func run() throws {
        // The file's faults are data errors (exit 65, EX_DATAERR), not a wrong command line.
        guard let data = FileManager.default.contents(atPath: from) else { throw CommandFailure.failed("cannot read \(from)") }
        let calls: [ObservedCall]
        do { calls = try PolicySuggester.read(jsonl: String(decoding: data, as: UTF8.self)) } catch {
            throw CommandFailure.data("\(from): \(error.description)")
        }
        guard !calls.isEmpty else { throw CommandFailure.data("\(from) holds no calls") }
        guard let seconds = DurationText.seconds(expiresIn) else { throw ValidationError("--expires-in must be like 8h or 7d") }
        let now = Int64(Date().timeIntervalSince1970)
        let document = PolicySuggester(mergePrefixes: prefixes).suggest(
            calls,
            agent: .init(id: agent ?? calls.compactMap(\.agentId).first ?? "agent", owner: owner),
            task: .init(id: task ?? calls.compactMap(\.taskId).first ?? "task", purpose: "suggested from \(calls.count) observed calls",
                        notBefore: nil, notAfter: now + seconds))
        print(PolicySuggester.yaml(document), terminator: "")
        for finding in PolicyLinter(catalog: try ServiceCatalog.bundled()).lint(document, now: now) {
            FileHandle.standardError.write(Data("lint: \(finding.severity.rawValue) \(finding.rule) \(finding.title): \(finding.message)\n".utf8))
        }
    }
}


/// `rein policy lint FILE`: risky grants, with severity and a stable rule id.
struct PolicyLintCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lint",
        abstract: "Find risky grants: wildcards, credential minting, secrets, code execution, escalation paths, exposure, cross-account, expiry.",
        discussion: "Exits 1 when any finding is an error. --format sarif writes SARIF 2.1.0 for code-scanning tools.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, sarif }

    @Argument(help: "The policy file (YAML or JSON).")
    var file: String

    @Option(help: "Output format: text or sarif.")
    var format: Format = .text

    @Option(help: "The broker's AWS account; resources in other accounts are flagged (env REIN_ACCOUNT_ID).")
    var account: String?

    @Option(help: "Longest task window allowed before a warning, e.g. 8h or 7d.")
    var maxTaskDuration: String = "7d"

    @Option(help: "Lint as of this time (ISO 8601) instead of now.")
    var at: String?

    func run() throws {
        let document = try PolicyFile.load(file)
        guard let maxSeconds = DurationText.seconds(maxTaskDuration) else { throw ValidationError("--max-task-duration must be like 8h or 7d") }
        let linter = PolicyLinter(catalog: try ServiceCatalog.bundled(), maxTaskSeconds: maxSeconds,
                                  accountId: account ?? ProcessInfo.processInfo.environment["REIN_ACCOUNT_ID"])
        let findings = linter.lint(document, now: try PolicyTime.now(at))
        switch format {
        case .sarif:
            print(SARIFReport.render(findings, policyURI: file, toolVersion: ReinVersion.current))
        case .text:
            for f in findings {
                let place = f.location.map { "\(file):\($0.line):\($0.column)" } ?? file
                print("\(place): \(f.severity.rawValue) \(f.rule) \(f.title): \(f.message)")
                print("    fix: \(f.remediation)")
            }
            print("\(findings.count) finding(s): \(findings.filter { $0.severity == .error }.count) error(s), \(findings.filter { $0.severity == .warning }.count) warning(s)")
        }
        if findings.contains(where: { $0.severity == .error }) { throw ExitCode(1) }
    }
}
