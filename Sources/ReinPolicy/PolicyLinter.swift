import ReinCatalog
import ReinSigV4

/// Judges a structurally valid task policy for risk: wildcards, credential
/// minting, secret reads, code execution, privilege-escalation paths,
/// resource-policy writes, cross-account ARNs and task expiry.
///
/// The validator answers "can Rein enforce this?"; the linter answers
/// "should a reviewer sign it?". Action patterns are expanded against the
/// catalog first, so `iam:*` is judged as the IAM actions it allows and
/// `s3:Get*` as harmless to credentials. `deny` statements never report (they
/// only restrict); an unconditional `deny` on `*` removes its actions from
/// what the other statements grant. `hold` statements report one severity
/// lower than `allow`, since a human approves each of their calls.
/// Conditions are ignored: a condition narrows a grant at request time but
/// does not change which actions a reviewer is signing off.
public struct PolicyLinter: Sendable {
    /// Longest task window (notBefore or now → notAfter) that passes quietly.
    public let maxTaskSeconds: Int64
    /// The account the policy is for; enables the cross-account check.
    public let accountId: String?

    private let index: LintActionIndex
    private let credentialActions: [String]
    private let secretActions: [String]
    private let broadKeySecretActions: [String]
    private let codeActions: [String]
    private let exposureActions: [String]

    /// Patterns of a broad action that are listed in a message before "and N more".
    static let listLimit = 6
    /// A single-service pattern expanding to more actions than this is a warning, not a note.
    static let broadPatternThreshold = 5

    public init(catalog: ServiceCatalog, maxTaskSeconds: Int64 = 7 * 86400, accountId: String? = nil) {
        self.maxTaskSeconds = maxTaskSeconds
        self.accountId = accountId
        index = LintActionIndex(catalog: catalog)
        credentialActions = index.resolve(LintActionTables.credentialMinting)
        secretActions = index.resolve(LintActionTables.secretRead)
        broadKeySecretActions = index.resolve(LintActionTables.secretReadOnBroadResources)
        codeActions = index.resolve(LintActionTables.codeExecution)
        exposureActions = index.resolve(LintActionTables.resourceExposure)
    }

    /// Every finding for the document, in report order (by position, then
    /// rule). `now` is seconds since the epoch, for the expiry checks.
    public func lint(_ document: PolicyDocument, now: Int64) -> [LintFinding] {
        var findings = taskFindings(document.task, now: now)
        let denials = document.statements.filter { s in
            s.effect == .deny && s.conditions.isEmpty && s.resources.contains { LintActionIndex.isAllWildcard($0) }
        }.flatMap { $0.actions.map { WildcardPattern($0, caseInsensitive: true) } }
        let active = document.statements.enumerated().filter { $0.element.effect != .deny }
            .map { LintGrant(statement: $0.element, order: $0.offset, denials: denials) }
        for grant in active {
            findings += statementFindings(grant)
        }
        findings += LintEscalation.findings(active)
        return findings.sorted(by: LintFinding.reportOrder)
    }

    // MARK: - Task window

    private func taskFindings(_ task: PolicyDocument.Task, now: Int64) -> [LintFinding] {
        guard let notAfter = task.notAfter else {
            return [LintFinding(.missingExpiry, .error,
                                "task '\(task.id)' has no notAfter, so the policy never expires", statement: nil)]
        }
        if notAfter <= now {
            return [LintFinding(.expiredTask, .error,
                                "task '\(task.id)' expired at \(Self.timestamp(notAfter)), \(Self.duration(now - notAfter)) ago",
                                statement: nil)]
        }
        let start = task.notBefore ?? now
        if notAfter - start > maxTaskSeconds {
            let from = task.notBefore.map { "from notBefore \(Self.timestamp($0))" } ?? "from now"
            return [LintFinding(.longTask, .warning,
                                "task '\(task.id)' runs \(Self.duration(notAfter - start)) \(from) to notAfter \(Self.timestamp(notAfter)), longer than the \(Self.duration(maxTaskSeconds)) maximum",
                                statement: nil)]
        }
        return []
    }

    // MARK: - One statement

    private func statementFindings(_ grant: LintGrant) -> [LintFinding] {
        let s = grant.statement
        let coverages = s.actions.map(index.coverage(of:))
        let resources = s.resources.map(LintResource.init)
        var out: [LintFinding] = []
        func add(_ rule: LintRule, _ severity: PolicyProblem.Severity, _ message: String, remediation: String? = nil) {
            out.append(LintFinding(rule, grant.severity(severity), "\(grant.subject) \(message)", statement: s,
                                   remediation: remediation))
        }

        let everyAction = s.actions.filter { pattern in
            guard let (service, action) = LintActionIndex.split(pattern) else { return false }
            return LintActionIndex.isAllWildcard(service) && LintActionIndex.isAllWildcard(action)
        }
        let everyResource = resources.filter { LintActionIndex.isAllWildcard($0.text) }
        let fullAccess = !everyAction.isEmpty && !everyResource.isEmpty
        if fullAccess {
            add(.fullAccess, .error, "allows every action (\(Self.quoted(everyAction))) on every resource (\(Self.quoted(everyResource.map(\.text))))")
        }

        var serviceWide: [String] = []
        for (pattern, coverage) in zip(s.actions, coverages) {
            guard let (_, action) = LintActionIndex.split(pattern) else { continue }
            switch coverage {
            case .services(let prefixes):
                if fullAccess && everyAction.contains(pattern) { continue }
                serviceWide.append("`\(pattern)` (\(prefixes.count) services)")
            case .actions(let prefix, let names):
                // A pattern matching nothing names an unknown service or
                // action: the validator's to report, not a breadth risk.
                if names.isEmpty { continue }
                if LintActionIndex.isAllWildcard(action) {
                    serviceWide.append("`\(pattern)` (all \(names.count) \(prefix) actions)")
                } else if LintActionIndex.hasWildcard(action) && names.count > 1 {
                    let severity: PolicyProblem.Severity = names.count > Self.broadPatternThreshold ? .warning : .note
                    let shown = names.map { String($0.dropFirst(prefix.count + 1)) }
                    add(.broadActionPattern, severity,
                        "uses `\(pattern)`, which expands to \(names.count) \(prefix) actions: \(Self.list(shown))",
                        remediation: "List only the \(prefix) actions the task calls instead of `\(pattern)`.")
                }
            }
        }
        if !serviceWide.isEmpty {
            add(.serviceWideAccess, .warning, "grants whole services: \(serviceWide.joined(separator: ", "))")
        }

        let unbounded = resources.filter(\.isUnbounded).map(\.text)
            .filter { !(fullAccess && LintActionIndex.isAllWildcard($0)) }
        if !unbounded.isEmpty && index.anyResourceScoped(coverages) {
            add(.broadResource, .warning, "applies to every resource: \(Self.quoted(unbounded))")
        }

        let credentials = grant.granted(credentialActions)
        if !credentials.isEmpty {
            add(.credentialMinting, .error, "can mint credentials with \(Self.list(credentials))")
        }
        var secrets = grant.granted(secretActions)
        let broadKey = resources.filter { $0.isUnbounded || ($0.service == "kms" && $0.isWholeType) }
        if !broadKey.isEmpty { secrets += grant.granted(broadKeySecretActions) }
        if !secrets.isEmpty {
            add(.secretRead, .warning, "can read secrets with \(Self.list(secrets))")
        }
        let code = grant.granted(codeActions)
        if !code.isEmpty {
            add(.codeExecution, .warning, "can run code with \(Self.list(code))")
        }
        let exposure = grant.granted(exposureActions)
        if !exposure.isEmpty {
            add(.resourceExposure, .error, "can change resource policies with \(Self.list(exposure))")
        }

        if let home = accountId {
            var foreign: [String] = [], open: [String] = []
            for r in resources {
                switch r.accountScope(home: home) {
                case .foreign: foreign.append(r.text)
                case .open: open.append(r.text)
                case .own, .none: break
                }
            }
            if !foreign.isEmpty {
                add(.crossAccountResource, .warning, "names resources in accounts other than \(home): \(Self.quoted(foreign))")
            }
            if !open.isEmpty {
                add(.crossAccountResource, .warning, "leaves the account open with a wildcard: \(Self.quoted(open))")
            }
        }
        return out
    }

    // MARK: - Message helpers

    /// `a, b, c and 4 more`.
    static func list(_ items: [String]) -> String {
        let head = items.prefix(listLimit).joined(separator: ", ")
        return items.count > listLimit ? "\(head) and \(items.count - listLimit) more" : head
    }

    static func quoted(_ items: [String]) -> String {
        list(items.map { "`\($0)`" })
    }

    /// RFC 3339, as policies write times.
    static func timestamp(_ t: Int64) -> String {
        let b = Array(AmzDate.format(t))   // yyyyMMddTHHmmssZ
        return "\(String(b[0..<4]))-\(String(b[4..<6]))-\(String(b[6..<8]))T\(String(b[9..<11])):\(String(b[11..<13])):\(String(b[13..<15]))Z"
    }

    /// `3d 4h`, `45m`, `10s`: the two largest units.
    static func duration(_ seconds: Int64) -> String {
        let units: [(Int64, String)] = [(86400, "d"), (3600, "h"), (60, "m"), (1, "s")]
        var rest = max(seconds, 0), parts: [String] = []
        for (size, name) in units where rest >= size && parts.count < 2 {
            parts.append("\(rest / size)\(name)")
            rest %= size
        }
        return parts.isEmpty ? "0s" : parts.joined(separator: " ")
    }
}
