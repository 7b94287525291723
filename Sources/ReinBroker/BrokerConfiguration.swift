import Foundation

/// Where the sidecar's broker credentials come from: the `broker:` section of
/// the sidecar configuration.
///
/// Keys (snake_case in YAML/JSON; unknown keys are refused):
/// - `provider` (required): `static`, `profile`, `assume_role`, `web_identity`, `container`, `imds`.
/// - `env_prefix` (static): read `<prefix>ACCESS_KEY_ID`, `<prefix>SECRET_ACCESS_KEY`,
///   `<prefix>SESSION_TOKEN`; default `AWS_`.
/// - `profile` (profile): default `AWS_PROFILE`, else `default`.
/// - `role_arn` (assume_role; web_identity, default `AWS_ROLE_ARN`).
/// - `source` (assume_role, required): a nested broker configuration for the
///   credentials that call AssumeRole (any provider, including another assume_role).
/// - `external_id` (assume_role).
/// - `session_name` (assume_role, web_identity): default `rein-<agent>-<task>`
///   (web_identity: `AWS_ROLE_SESSION_NAME` first).
/// - `region` (assume_role, web_identity): STS region; default `AWS_REGION`, then `AWS_DEFAULT_REGION`.
/// - `sts_endpoint` (assume_role, web_identity): default `https://sts.REGION.amazonaws.com`.
/// - `duration_seconds` (assume_role, web_identity): 900...43200, default 3600; the
///   task's remaining time shortens it.
/// - `tag_session`, `set_source_identity` (assume_role): default true; send the
///   `rein:agent`/`rein:task` session tags and the agent as SourceIdentity.
/// - `token_file` (web_identity): default `AWS_WEB_IDENTITY_TOKEN_FILE`; an IRSA
///   token or a SPIFFE JWT-SVID.
/// - `imds_endpoint` (imds): default `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://169.254.169.254`.
/// - `timeout_seconds` (assume_role, web_identity, container, imds): per HTTP call;
///   default 10 for STS, 2 for the metadata endpoints.
/// - `refresh_before_seconds` (top level only): refresh this long before expiry, default 300.
///
/// The container provider is configured by the environment ECS and EKS set
/// (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `..._FULL_URI`, and the
/// authorization token variables), so it takes no keys.
public struct BrokerConfiguration: Codable, Sendable, Equatable {
    public enum Provider: String, Codable, Sendable, CaseIterable {
        case `static`, profile, assumeRole = "assume_role", webIdentity = "web_identity", container, imds
    }

    public var provider: Provider
    public var envPrefix: String?
    public var profile: String?
    public var roleArn: String?
    public var externalId: String?
    public var sessionName: String?
    public var region: String?
    public var stsEndpoint: String?
    public var durationSeconds: Int?
    public var tagSession: Bool?
    public var setSourceIdentity: Bool?
    public var tokenFile: String?
    public var imdsEndpoint: String?
    public var timeoutSeconds: Double?
    public var refreshBeforeSeconds: Int?
    private var sourceBox: Box?

    /// The base provider of an `assume_role` (boxed: a struct cannot hold itself).
    public var source: BrokerConfiguration? {
        get { sourceBox?.value }
        set { sourceBox = newValue.map(Box.init) }
    }

    public init(provider: Provider, envPrefix: String? = nil, profile: String? = nil, roleArn: String? = nil, externalId: String? = nil,
                sessionName: String? = nil, region: String? = nil, stsEndpoint: String? = nil, durationSeconds: Int? = nil,
                tagSession: Bool? = nil, setSourceIdentity: Bool? = nil, source: BrokerConfiguration? = nil, tokenFile: String? = nil,
                imdsEndpoint: String? = nil, timeoutSeconds: Double? = nil, refreshBeforeSeconds: Int? = nil) {
        self.provider = provider
        self.envPrefix = envPrefix
        self.profile = profile
        self.roleArn = roleArn
        self.externalId = externalId
        self.sessionName = sessionName
        self.region = region
        self.stsEndpoint = stsEndpoint
        self.durationSeconds = durationSeconds
        self.tagSession = tagSession
        self.setSourceIdentity = setSourceIdentity
        self.tokenFile = tokenFile
        self.imdsEndpoint = imdsEndpoint
        self.timeoutSeconds = timeoutSeconds
        self.refreshBeforeSeconds = refreshBeforeSeconds
        self.source = source
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case provider, envPrefix = "env_prefix", profile, roleArn = "role_arn", externalId = "external_id"
        case sessionName = "session_name", region, stsEndpoint = "sts_endpoint", durationSeconds = "duration_seconds"
        case tagSession = "tag_session", setSourceIdentity = "set_source_identity", sourceBox = "source"
        case tokenFile = "token_file", imdsEndpoint = "imds_endpoint", timeoutSeconds = "timeout_seconds"
        case refreshBeforeSeconds = "refresh_before_seconds"
    }

    public init(from decoder: any Decoder) throws {
        // A misspelt key would otherwise be ignored silently and a default used instead.
        let any = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = any.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: any,
                debugDescription: "unknown broker key \(unknown.stringValue.debugDescription); known keys: \(known.sorted().joined(separator: ", "))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(Provider.self, forKey: .provider)
        envPrefix = try c.decodeIfPresent(String.self, forKey: .envPrefix)
        profile = try c.decodeIfPresent(String.self, forKey: .profile)
        roleArn = try c.decodeIfPresent(String.self, forKey: .roleArn)
        externalId = try c.decodeIfPresent(String.self, forKey: .externalId)
        sessionName = try c.decodeIfPresent(String.self, forKey: .sessionName)
        region = try c.decodeIfPresent(String.self, forKey: .region)
        stsEndpoint = try c.decodeIfPresent(String.self, forKey: .stsEndpoint)
        durationSeconds = try c.decodeIfPresent(Int.self, forKey: .durationSeconds)
        tagSession = try c.decodeIfPresent(Bool.self, forKey: .tagSession)
        setSourceIdentity = try c.decodeIfPresent(Bool.self, forKey: .setSourceIdentity)
        sourceBox = try c.decodeIfPresent(Box.self, forKey: .sourceBox)
        tokenFile = try c.decodeIfPresent(String.self, forKey: .tokenFile)
        imdsEndpoint = try c.decodeIfPresent(String.self, forKey: .imdsEndpoint)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds)
        refreshBeforeSeconds = try c.decodeIfPresent(Int.self, forKey: .refreshBeforeSeconds)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Immutable, so sharing it between copies is safe.
    private final class Box: Codable, Sendable, Equatable {
        let value: BrokerConfiguration
        init(_ value: BrokerConfiguration) { self.value = value }
        required init(from decoder: any Decoder) throws { value = try BrokerConfiguration(from: decoder) }
        func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
        static func == (a: Box, b: Box) -> Bool { a.value == b.value }
    }
}
