/// A task-scoped allowlist: what one agent may do with AWS for one task.
///
/// Written by the central security team as YAML or JSON (see
/// Deploy/examples/policy.yaml). One per agent task; a planner, an executor
/// and a monitor each get their own and inherit nothing from each other.
public struct PolicyDocument: Sendable, Equatable {
    public static let apiVersion = "rein.dev/v1alpha1"
    public static let kind = "TaskPolicy"

    public var agent: Agent
    public var task: Task
    public var mode: PolicyMode
    public var statements: [Statement]

    public struct Agent: Sendable, Equatable {
        public var id: String
        public var owner: String

        public init(id: String, owner: String) {
            self.id = id
            self.owner = owner
        }
    }

    public struct Task: Sendable, Equatable {
        public var id: String
        public var purpose: String
        /// Seconds since the epoch (UTC); nil when not given.
        public var notBefore: Int64?
        public var notAfter: Int64?

        public init(id: String, purpose: String, notBefore: Int64? = nil, notAfter: Int64? = nil) {
            self.id = id
            self.purpose = purpose
            self.notBefore = notBefore
            self.notAfter = notAfter
        }
    }

    public init(agent: Agent, task: Task, mode: PolicyMode, statements: [Statement]) {
        self.agent = agent
        self.task = task
        self.mode = mode
        self.statements = statements
    }
}

/// How a policy is applied: enforced, logged as would-deny but allowed
/// (observe), or allowed and recorded for `rein policy suggest` (learn).
public enum PolicyMode: String, Sendable, Equatable, CaseIterable {
    case enforce, observe, learn

    /// Narrowness order: a policy's mode may be narrower than the sidecar's, never wider.
    public var strictness: Int {
        switch self {
        case .enforce: return 2
        case .observe: return 1
        case .learn: return 0
        }
    }
}

/// One statement: an effect on actions and resources, optionally conditioned.
public struct Statement: Sendable, Equatable {
    public enum Effect: String, Sendable, Equatable, CaseIterable {
        case allow, deny
        /// Needs a human's approval (holds).
        case hold
    }

    public var id: String
    public var effect: Effect
    /// IAM action names or patterns (`s3:GetObject`, `s3:Get*`).
    public var actions: [String]
    /// ARN patterns (`arn:aws:s3:::reports/*`) or `*`.
    public var resources: [String]
    public var conditions: [Condition]
    public var quota: Quota?
    /// Where the statement starts in its file, for messages.
    public var location: SourceLocation?

    public init(id: String, effect: Effect, actions: [String], resources: [String], conditions: [Condition] = [],
                quota: Quota? = nil, location: SourceLocation? = nil) {
        self.id = id
        self.effect = effect
        self.actions = actions
        self.resources = resources
        self.conditions = conditions
        self.quota = quota
        self.location = location
    }
}

/// An IAM-style condition: `StringEquals: {aws:RequestedRegion: [eu-west-1]}`.
public struct Condition: Sendable, Equatable {
    public enum SetQualifier: String, Sendable, Equatable {
        case forAnyValue = "ForAnyValue"
        case forAllValues = "ForAllValues"
    }

    public var qualifier: SetQualifier?
    public var `operator`: ConditionOperator
    public var ifExists: Bool
    public var key: String
    public var values: [String]
    public var location: SourceLocation?

    public init(qualifier: SetQualifier? = nil, operator: ConditionOperator, ifExists: Bool = false, key: String,
                values: [String], location: SourceLocation? = nil) {
        self.qualifier = qualifier
        self.operator = `operator`
        self.ifExists = ifExists
        self.key = key
        self.values = values
        self.location = location
    }
}

/// The IAM condition operators Rein evaluates.
public enum ConditionOperator: String, Sendable, Equatable, CaseIterable {
    case stringEquals = "StringEquals", stringNotEquals = "StringNotEquals"
    case stringEqualsIgnoreCase = "StringEqualsIgnoreCase", stringNotEqualsIgnoreCase = "StringNotEqualsIgnoreCase"
    case stringLike = "StringLike", stringNotLike = "StringNotLike"
    case arnEquals = "ArnEquals", arnLike = "ArnLike", arnNotEquals = "ArnNotEquals", arnNotLike = "ArnNotLike"
    case numericEquals = "NumericEquals", numericNotEquals = "NumericNotEquals"
    case numericLessThan = "NumericLessThan", numericLessThanEquals = "NumericLessThanEquals"
    case numericGreaterThan = "NumericGreaterThan", numericGreaterThanEquals = "NumericGreaterThanEquals"
    case dateEquals = "DateEquals", dateNotEquals = "DateNotEquals"
    case dateLessThan = "DateLessThan", dateLessThanEquals = "DateLessThanEquals"
    case dateGreaterThan = "DateGreaterThan", dateGreaterThanEquals = "DateGreaterThanEquals"
    case bool = "Bool"
    case ipAddress = "IpAddress", notIpAddress = "NotIpAddress"
}

/// Limits on use within the task: calls per action per window, bytes moved.
public struct Quota: Sendable, Equatable {
    public var maxCalls: Int?
    /// Window length in seconds for `maxCalls`.
    public var perSeconds: Int64?
    public var maxBytesRead: Int64?
    public var maxBytesWritten: Int64?

    public init(maxCalls: Int? = nil, perSeconds: Int64? = nil, maxBytesRead: Int64? = nil, maxBytesWritten: Int64? = nil) {
        self.maxCalls = maxCalls
        self.perSeconds = perSeconds
        self.maxBytesRead = maxBytesRead
        self.maxBytesWritten = maxBytesWritten
    }
}

/// A 1-based line and column in a policy file.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// One thing wrong with a policy, where it is, and how bad.
public struct PolicyProblem: Sendable, Equatable, CustomStringConvertible, Error {
    public enum Severity: String, Sendable, Equatable, Comparable {
        case error, warning, note

        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
        var rank: Int { self == .error ? 2 : self == .warning ? 1 : 0 }
    }

    public let severity: Severity
    /// A stable rule id (e.g. `REIN-V003`).
    public let rule: String
    public let message: String
    public let location: SourceLocation?

    public init(_ severity: Severity, _ rule: String, _ message: String, at location: SourceLocation?) {
        self.severity = severity
        self.rule = rule
        self.message = message
        self.location = location
    }

    public var description: String {
        "\(location.map { "\($0): " } ?? "")\(severity.rawValue) \(rule): \(message)"
    }
}
