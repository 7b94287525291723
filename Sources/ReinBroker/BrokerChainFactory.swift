import Foundation
import Logging
import ReinUpstream

/// Builds the provider chain a ``BrokerConfiguration`` describes.
///
/// Nothing is fetched here: the result is checked and ready, and the first
/// network call happens in ``BrokerCredentialSource/refreshNow()`` at start-up.
public enum BrokerChainFactory {
    /// - Parameters:
    ///   - context: the task the credentials are for; it scopes the last hop only
    ///     (a `source` provider gets neither the session policy nor the expiry limit).
    ///   - env: the process environment, injected so that tests control it.
    public static func make(_ config: BrokerConfiguration, context: BrokerContext, env: [String: String],
                            http: HTTPClient) throws(BrokerError) -> any BrokerCredentialProvider {
        try config.validate()
        return try build(config, path: "broker", context: context, env: env, http: http, inheritedRegion: nil)
    }

    /// The provider chain wrapped in its cache, with the configured refresh lead time.
    public static func makeSource(_ config: BrokerConfiguration, context: BrokerContext, env: [String: String], http: HTTPClient,
                                  logger: Logger = Logger(label: "rein.broker"),
                                  onRefresh: (@Sendable (BrokerCredentialSource.RefreshEvent) -> Void)? = nil) throws(BrokerError) -> BrokerCredentialSource {
        let provider = try make(config, context: context, env: env, http: http)
        return BrokerCredentialSource(provider: provider, refreshBefore: TimeInterval(config.refreshBeforeSeconds ?? 300),
                                      logger: logger, onRefresh: onRefresh)
    }

    /// Whether the chain's credentials carry the task: its session policy,
    /// expiry and names (the last hop is `assume_role` or `web_identity`).
    /// Only then does a new policy version need new credentials.
    public static func isTaskScoped(_ config: BrokerConfiguration) -> Bool {
        config.provider == .assumeRole || config.provider == .webIdentity
    }

    /// - Parameter inheritedRegion: a `source` without its own region uses its parent's.
    private static func build(_ config: BrokerConfiguration, path: String, context: BrokerContext, env: [String: String],
                              http: HTTPClient, inheritedRegion: String?) throws(BrokerError) -> any BrokerCredentialProvider {
        func value(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        func region() throws(BrokerError) -> String {
            guard let region = config.region ?? inheritedRegion ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") else {
                throw .configuration("broker", "\(path).region is not set (nor AWS_REGION or AWS_DEFAULT_REGION): STS needs a region")
            }
            return region
        }
        switch config.provider {
        case .static:
            return try StaticCredentialProvider(environment: env, prefix: config.envPrefix ?? "AWS_")
        case .profile:
            return ProfileCredentialProvider(profile: config.profile, environment: env)
        case .assumeRole:
            guard let sourceConfig = config.source, let roleArn = config.roleArn else {
                throw .configuration("broker", "\(path).role_arn and \(path).source are required for provider assume_role")
            }
            let stsRegion = try region()
            let base = try build(sourceConfig, path: path + ".source", context: context.forBase, env: env, http: http, inheritedRegion: stsRegion)
            let options = AssumeRoleProvider.Options(
                roleArn: roleArn, sessionName: config.sessionName, externalId: config.externalId,
                durationSeconds: config.durationSeconds ?? 3600, region: stsRegion, endpoint: config.stsEndpoint,
                tagSession: config.tagSession ?? true, setSourceIdentity: config.setSourceIdentity ?? true,
                timeout: config.timeoutSeconds ?? 10)
            return try AssumeRoleProvider(base: base, options: options, context: context, http: http)
        case .webIdentity:
            guard let roleArn = config.roleArn ?? value("AWS_ROLE_ARN") else {
                throw .configuration("broker", "\(path).role_arn is not set (nor AWS_ROLE_ARN) for provider web_identity")
            }
            guard let tokenFile = config.tokenFile ?? value("AWS_WEB_IDENTITY_TOKEN_FILE") else {
                throw .configuration("broker", "\(path).token_file is not set (nor AWS_WEB_IDENTITY_TOKEN_FILE) for provider web_identity")
            }
            let options = WebIdentityProvider.Options(
                roleArn: roleArn, tokenFile: tokenFile, sessionName: config.sessionName ?? value("AWS_ROLE_SESSION_NAME"),
                durationSeconds: config.durationSeconds ?? 3600, region: try region(), endpoint: config.stsEndpoint,
                timeout: config.timeoutSeconds ?? 10)
            return try WebIdentityProvider(options: options, context: context, http: http)
        case .container:
            return try ContainerCredentialProvider(environment: env, timeout: config.timeoutSeconds ?? 2, http: http)
        case .imds:
            return try IMDSv2Provider(endpoint: config.imdsEndpoint, environment: env, timeout: config.timeoutSeconds ?? 2, http: http)
        }
    }
}
