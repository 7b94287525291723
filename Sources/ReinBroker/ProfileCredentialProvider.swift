import Foundation
import ReinSigV4

/// Static keys from a profile of the AWS shared credentials and config files.
///
/// The files are read on every fetch, so a rotation written by another tool
/// is picked up at the next refresh. The credentials file names sections
/// `[name]`; the config file names them `[profile name]` (and `[default]`).
/// When both hold the profile, the credentials file wins key by key, as in
/// the AWS SDKs. Profiles that only chain (`role_arn`, `source_profile`,
/// `credential_process`, SSO) are refused: express the role hop as an
/// `assume_role` provider whose source is this profile, so that Rein scopes it.
public struct ProfileCredentialProvider: BrokerCredentialProvider {
    public let name = "profile"
    public let profile: String
    public let credentialsFile: String
    public let configFile: String

    public init(profile: String, credentialsFile: String, configFile: String) {
        self.profile = profile
        self.credentialsFile = credentialsFile
        self.configFile = configFile
    }

    /// Resolves the profile (`profile`, else `AWS_PROFILE`, else `default`) and
    /// the file paths (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else
    /// `~/.aws/credentials` and `~/.aws/config`) from the given environment.
    public init(profile: String?, environment env: [String: String]) {
        let home = env["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        func path(_ variable: String, _ fallback: String) -> String {
            let raw = env[variable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            return raw == "~" ? home : raw.hasPrefix("~/") ? home + raw.dropFirst() : raw
        }
        self.init(
            profile: profile ?? env["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            credentialsFile: path("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
            configFile: path("AWS_CONFIG_FILE", "~/.aws/config"))
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        let credentialsSection = try Self.read(credentialsFile)?[profile]
        let configSection = try Self.read(configFile)?[profile == "default" ? "default" : "profile \(profile)"]
        guard credentialsSection != nil || configSection != nil else {
            throw .configuration(name, "profile \(profile.debugDescription) is in neither \(credentialsFile) ([\(profile)]) nor \(configFile) ([profile \(profile)])")
        }
        let merged = (configSection ?? [:]).merging(credentialsSection ?? [:]) { _, fromCredentials in fromCredentials }
        func value(_ key: String) -> String? { merged[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard let keyId = value("aws_access_key_id"), let secret = value("aws_secret_access_key") else {
            let chaining = ["role_arn", "source_profile", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"]
                .filter { merged[$0] != nil }
            if !chaining.isEmpty {
                throw .configuration(name, "profile \(profile.debugDescription) obtains credentials through \(chaining.joined(separator: ", ")), which Rein does not follow: configure provider assume_role (or web_identity) with this profile's keys as its source")
            }
            throw .configuration(name, "profile \(profile.debugDescription) has no aws_access_key_id and aws_secret_access_key")
        }
        return BrokerCredentials(
            credentials: AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: value("aws_session_token")),
            expiration: nil, source: name)
    }

    /// The parsed file, or nil when it does not exist.
    private static func read(_ path: String) throws(BrokerError) -> SharedConfigFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .configuration("profile", "cannot read \(path): check its permissions")
        }
        return SharedConfigFile(parsing: String(decoding: data, as: UTF8.self))
    }
}
