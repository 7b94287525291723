import Foundation
import ReinUpstream

/// Credentials from STS AssumeRoleWithWebIdentity, with an OIDC token read
/// from a file on every fetch: EKS IRSA's projected service-account token
/// (`AWS_WEB_IDENTITY_TOKEN_FILE`) or a SPIFFE JWT-SVID written by a
/// workload agent. Both rotate the file in place, so it is never cached.
///
/// The call is unsigned: the token is the proof. As the last hop it takes
/// the task's session policy and duration limit; as the source of an
/// `assume_role` it takes neither.
public struct WebIdentityProvider: BrokerCredentialProvider {
    public struct Options: Sendable {
        public var roleArn: String
        public var tokenFile: String
        /// Default `rein-<agent>-<task>`.
        public var sessionName: String?
        public var durationSeconds: Int
        public var region: String
        public var endpoint: String?
        public var timeout: Double

        public init(roleArn: String, tokenFile: String, sessionName: String? = nil, durationSeconds: Int = 3600,
                    region: String, endpoint: String? = nil, timeout: Double = 10) {
            self.roleArn = roleArn
            self.tokenFile = tokenFile
            self.sessionName = sessionName
            self.durationSeconds = durationSeconds
            self.region = region
            self.endpoint = endpoint
            self.timeout = timeout
        }
    }

    /// Tokens larger than STS accepts (20,000 characters) are refused locally.
    static let maxTokenBytes = 20_000

    public let name = "web_identity"
    public let options: Options
    public let context: BrokerContext
    private let sts: STSClient

    public init(options: Options, context: BrokerContext, http: HTTPClient) throws(BrokerError) {
        guard (SessionScope.minimumDuration...SessionScope.maximumDuration).contains(options.durationSeconds) else {
            throw .configuration("web_identity", "duration_seconds \(options.durationSeconds) is outside STS's 900...43200")
        }
        guard options.roleArn.hasPrefix("arn:") else {
            throw .configuration("web_identity", "role_arn \(options.roleArn.debugDescription) is not an ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        }
        guard !options.tokenFile.isEmpty else {
            throw .configuration("web_identity", "token_file is empty")
        }
        self.options = options
        self.context = context
        self.sts = try STSClient(endpoint: options.endpoint, region: options.region, http: http, timeout: options.timeout, provider: "web_identity")
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        let duration = try SessionScope.duration(configured: options.durationSeconds, now: now, taskExpiry: context.taskExpiry, provider: name)
        let token = try readToken()
        let parameters: [(String, String)] = [
            ("RoleArn", options.roleArn),
            ("RoleSessionName", options.sessionName ?? SessionScope.sessionName(agentId: context.agentId, taskId: context.taskId)),
            ("WebIdentityToken", token),
            ("DurationSeconds", String(duration)),
        ]
        return try sts.credentials(action: "AssumeRoleWithWebIdentity", parameters: parameters, sessionPolicy: context.sessionPolicy,
                                   signWith: nil, now: now)
    }

    private func readToken() throws(BrokerError) -> String {
        guard let data = FileManager.default.contents(atPath: options.tokenFile) else {
            throw .configuration(name, "cannot read the web identity token file \(options.tokenFile): check that it is mounted and readable")
        }
        guard data.count <= Self.maxTokenBytes else {
            throw .configuration(name, "the token in \(options.tokenFile) has \(data.count) bytes; STS accepts at most \(Self.maxTokenBytes)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw .configuration(name, "the web identity token file \(options.tokenFile) is empty")
        }
        return token
    }
}
