/// One check that `PolicyLinter` runs, with the words a reviewer sees.
///
/// Rule ids are stable: SARIF consumers (code-scanning dashboards, baselines)
/// key alerts on them, so a rule is never renumbered; a retired rule keeps its
/// id unused. The severity here is what the rule reports for an `allow`
/// statement; a `hold` statement (a human approves each call) reports one
/// level lower, and `deny` statements never report.
public struct LintRule: Sendable, Equatable, Identifiable {
    /// Stable id such as `REIN-L001`.
    public let id: String
    /// Identifier-like name (SARIF `reportingDescriptor.name`), e.g. `FullAccess`.
    public let name: String
    /// Short human title, e.g. "Full access".
    public let title: String
    /// What the rule looks for and why it matters.
    public let description: String
    /// What to change in the policy.
    public let remediation: String
    public let defaultSeverity: PolicyProblem.Severity

    public init(id: String, name: String, title: String, description: String, remediation: String,
                defaultSeverity: PolicyProblem.Severity) {
        self.id = id
        self.name = name
        self.title = title
        self.description = description
        self.remediation = remediation
        self.defaultSeverity = defaultSeverity
    }

    /// Every rule, in id order. SARIF's `ruleIndex` is the position in this list.
    public static let all: [LintRule] = [
        fullAccess, serviceWideAccess, broadActionPattern, broadResource, credentialMinting, secretRead,
        codeExecution, privilegeEscalation, resourceExposure, crossAccountResource, missingExpiry, expiredTask,
        longTask,
    ]

    /// The rule with this id, if Rein has one.
    public static func named(_ id: String) -> LintRule? { all.first { $0.id == id } }

    public static let fullAccess = LintRule(
        id: "REIN-L001", name: "FullAccess", title: "Full access",
        description: "A statement allows every action of every service on every resource (`*` on `*`): the agent can do anything the broker's credentials can.",
        remediation: "List the concrete actions the task needs (for example s3:GetObject) and the ARNs it touches; run the task in learn mode and use `rein policy suggest` to find them.",
        defaultSeverity: .error)

    public static let serviceWideAccess = LintRule(
        id: "REIN-L002", name: "ServiceWideAccess", title: "Service-wide action wildcard",
        description: "An action pattern grants every action of a service (`s3:*`) or spans several services (`*`, `*:Get*`), including actions added to AWS later.",
        remediation: "Replace the service wildcard with the specific actions the task calls.",
        defaultSeverity: .warning)

    public static let broadActionPattern = LintRule(
        id: "REIN-L003", name: "BroadActionPattern", title: "Broad action pattern",
        description: "An action pattern such as `s3:Get*` expands to several actions, some of which the task probably never calls; it also grows silently when AWS adds actions. Patterns covering more than five actions are warnings, smaller ones notes.",
        remediation: "List the actions explicitly; the finding's message shows what the pattern expands to today.",
        defaultSeverity: .warning)

    public static let broadResource = LintRule(
        id: "REIN-L004", name: "BroadResource", title: "Wildcard resource",
        description: "A resource is `*` or an ARN whose resource part is only wildcards (`arn:aws:s3:::*`), although the statement's actions support resource-level permissions.",
        remediation: "Name the buckets, tables, keys or prefixes the task works on (`arn:aws:s3:::reports/2026/*`).",
        defaultSeverity: .warning)

    public static let credentialMinting = LintRule(
        id: "REIN-L005", name: "CredentialMinting", title: "Credential minting",
        description: "The policy lets the agent obtain new AWS credentials (sts:AssumeRole*, sts:GetFederationToken, sts:GetSessionToken, iam:CreateAccessKey, login profiles, ...). Credentials minted this way are used outside Rein, so the allowlist no longer binds the agent.",
        remediation: "Remove the action; if the task really needs another role, give the sidecar that role through its credential broker instead of letting the agent assume it.",
        defaultSeverity: .error)

    public static let secretRead = LintRule(
        id: "REIN-L006", name: "SecretRead", title: "Secret reading",
        description: "The policy lets the agent read secret material: secretsmanager:GetSecretValue, SSM parameters (which decrypt SecureStrings), or kms:Decrypt on any key.",
        remediation: "Scope the statement to the exact secret or parameter ARNs the task needs, or make it a hold statement so a human approves each read.",
        defaultSeverity: .warning)

    public static let codeExecution = LintRule(
        id: "REIN-L007", name: "CodeExecution", title: "Code execution",
        description: "The policy lets the agent run code of its choosing inside AWS (Lambda code updates, ssm:SendCommand, ecs:RunTask, ec2:RunInstances, Glue dev endpoints, CodeBuild, ...). That code runs with its own role, outside Rein's view.",
        remediation: "Remove the action or make it a hold statement, and scope it to the specific functions, instances or projects of the task.",
        defaultSeverity: .warning)

    public static let privilegeEscalation = LintRule(
        id: "REIN-L008", name: "PrivilegeEscalation", title: "Privilege escalation",
        description: "The actions allowed across the whole policy complete a published privilege-escalation path (Rhino Security Labs' methods, as checked by cloudsplaining), such as iam:PassRole with lambda:CreateFunction and lambda:InvokeFunction, or iam:CreatePolicyVersion.",
        remediation: "Remove at least one action of each path listed in the message; iam:PassRole and the iam:*Policy* writes are the usual ones to drop.",
        defaultSeverity: .error)

    public static let resourceExposure = LintRule(
        id: "REIN-L009", name: "ResourceExposure", title: "Resource policy write",
        description: "The policy lets the agent change who else may access a resource (bucket policies and ACLs, public-access blocks, key policies, topic and queue attributes, Lambda permissions, repository and secret policies, ...), which can expose data to other accounts or the public.",
        remediation: "Remove the action; resource policies belong in infrastructure code reviewed by people, not in an agent task.",
        defaultSeverity: .error)

    public static let crossAccountResource = LintRule(
        id: "REIN-L010", name: "CrossAccountResource", title: "Cross-account resource",
        description: "A resource ARN names an AWS account other than the one the policy is meant for, or leaves the account open with a wildcard.",
        remediation: "Use ARNs in the task's own account; if the cross-account access is intended, document it in the task purpose and pin the account id.",
        defaultSeverity: .warning)

    public static let missingExpiry = LintRule(
        id: "REIN-L011", name: "MissingExpiry", title: "No task expiry",
        description: "The task has no `notAfter`, so the allowlist never expires and outlives the task it was written for.",
        remediation: "Set task.notAfter to when the task should be over, for example a few hours after it starts.",
        defaultSeverity: .error)

    public static let expiredTask = LintRule(
        id: "REIN-L012", name: "ExpiredTask", title: "Task already expired",
        description: "The task's `notAfter` is in the past: every request under this policy will be denied.",
        remediation: "Set a new notAfter if the task is still running, otherwise retire the policy.",
        defaultSeverity: .error)

    public static let longTask = LintRule(
        id: "REIN-L013", name: "LongTask", title: "Task window too long",
        description: "The task's validity window (notBefore, or now, to notAfter) is longer than the configured maximum task length (seven days unless configured).",
        remediation: "Shorten the window to the task's expected duration and issue a new policy if the task runs longer.",
        defaultSeverity: .warning)
}

extension PolicyProblem.Severity {
    /// One step less severe: how a `hold` statement reports, since a human
    /// approves each of its calls.
    var lowered: PolicyProblem.Severity {
        switch self {
        case .error: return .warning
        case .warning, .note: return .note
        }
    }
}
