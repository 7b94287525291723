import Foundation
import ReinSigV4
import ReinUpstream

/// Task-scoped credentials from STS AssumeRole, called with a base provider's
/// credentials.
///
/// Each session is scoped to the task: the session policy compiled from the
/// allowlist caps what the credentials can do at AWS even if Rein had a bug;
/// the agent is the `SourceIdentity` (it sticks through role chaining and
/// shows in CloudTrail); the agent and task are session tags; and the session
/// ends no later than the task.
public struct AssumeRoleProvider: BrokerCredentialProvider {
    public struct Options: Sendable {
        public var roleArn: String
        /// Default `rein-<agent>-<task>`.
        public var sessionName: String?
        public var externalId: String?
        /// Upper bound; the task's remaining time may shorten it.
        public var durationSeconds: Int
        public var region: String
        /// Default: STS's regional endpoint for `region`.
        public var endpoint: String?
        /// Send `rein:agent` and `rein:task` session tags (needs sts:TagSession in the trust policy).
        public var tagSession: Bool
        /// Send the agent id as SourceIdentity (needs sts:SetSourceIdentity).
        public var setSourceIdentity: Bool
        public var timeout: Double

        public init(roleArn: String, sessionName: String? = nil, externalId: String? = nil, durationSeconds: Int = 3600,
                    region: String, endpoint: String? = nil, tagSession: Bool = true, setSourceIdentity: Bool = true,
                    timeout: Double = 10) {
            self.roleArn = roleArn
            self.sessionName = sessionName
            self.externalId = externalId
            self.durationSeconds = durationSeconds
            self.region = region
            self.endpoint = endpoint
            self.tagSession = tagSession
            self.setSourceIdentity = setSourceIdentity
            self.timeout = timeout
        }
    }

    /// Session tag keys (the `aws:` prefix is reserved, so Rein uses its own).
    public static let agentTagKey = "rein:agent"
    public static let taskTagKey = "rein:task"
    /// How many times a `PackedPolicyTooLarge` answer is retried with a smaller policy.
    static let packedPolicyRetries = 2

    public let name = "assume_role"
    public let base: any BrokerCredentialProvider
    public let options: Options
    public let context: BrokerContext
    private let sts: STSClient

    public init(base: any BrokerCredentialProvider, options: Options, context: BrokerContext, http: HTTPClient) throws(BrokerError) {
        guard (SessionScope.minimumDuration...SessionScope.maximumDuration).contains(options.durationSeconds) else {
            throw .configuration("assume_role", "duration_seconds \(options.durationSeconds) is outside STS's 900...43200")
        }
        guard options.roleArn.hasPrefix("arn:") else {
            throw .configuration("assume_role", "role_arn \(options.roleArn.debugDescription) is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        }
        self.base = base
        self.options = options
        self.context = context
        self.sts = try STSClient(endpoint: options.endpoint, region: options.region, http: http, timeout: options.timeout, provider: "assume_role")
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        let duration = try SessionScope.duration(configured: options.durationSeconds, now: now, taskExpiry: context.taskExpiry, provider: name)
        let baseCredentials = try base.fetch(now: now)
        guard baseCredentials.isValid(at: now) else {
            throw BrokerError(provider: name, kind: .expired, message: "the base credentials from \(baseCredentials.source) expired at \(baseCredentials.expiration.map(ISO8601.format) ?? "?")")
        }
        return try sts.credentials(action: "AssumeRole", parameters: parameters(duration: duration),
                                   sessionPolicy: context.sessionPolicy, retries: Self.packedPolicyRetries,
                                   signWith: baseCredentials.credentials, now: now)
    }

    /// The AssumeRole form parameters except the session policy, in a fixed order.
    func parameters(duration: Int) -> [(String, String)] {
        var out: [(String, String)] = [
            ("RoleArn", options.roleArn),
            ("RoleSessionName", options.sessionName ?? SessionScope.sessionName(agentId: context.agentId, taskId: context.taskId)),
            ("DurationSeconds", String(duration)),
        ]
        if options.setSourceIdentity { out.append(("SourceIdentity", SessionScope.identifier(context.agentId))) }
        if options.tagSession {
            var n = 0
            for (key, value) in [(Self.agentTagKey, context.agentId), (Self.taskTagKey, context.taskId)] where !value.isEmpty {
                n += 1
                out.append(("Tags.member.\(n).Key", key))
                out.append(("Tags.member.\(n).Value", SessionScope.tagValue(value)))
            }
        }
        if let externalId = options.externalId { out.append(("ExternalId", externalId)) }
        return out
    }
}
