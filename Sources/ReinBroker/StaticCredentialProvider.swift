import Foundation
import ReinSigV4

/// Long-term (or externally rotated) keys given directly or read from the
/// environment.
///
/// The environment is injected as a dictionary so that tests, and a sidecar
/// that scrubs its own environment after start-up, decide what it sees.
public struct StaticCredentialProvider: BrokerCredentialProvider {
    public let name = "static"
    private let credentials: AWSCredentials
    private let expiration: Date?

    public init(credentials: AWSCredentials, expiration: Date? = nil) {
        self.credentials = credentials
        self.expiration = expiration
    }

    /// Reads `<prefix>ACCESS_KEY_ID`, `<prefix>SECRET_ACCESS_KEY` and the
    /// optional `<prefix>SESSION_TOKEN` (prefix `AWS_` by default).
    public init(environment env: [String: String], prefix: String = "AWS_") throws(BrokerError) {
        func value(_ suffix: String) -> String? {
            guard let v = env[prefix + suffix]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        guard let keyId = value("ACCESS_KEY_ID") else {
            throw .configuration("static", "\(prefix)ACCESS_KEY_ID is not set")
        }
        guard let secret = value("SECRET_ACCESS_KEY") else {
            throw .configuration("static", "\(prefix)SECRET_ACCESS_KEY is not set (\(prefix)ACCESS_KEY_ID is)")
        }
        self.init(credentials: AWSCredentials(accessKeyId: keyId, secretAccessKey: secret, sessionToken: value("SESSION_TOKEN")))
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        BrokerCredentials(credentials: credentials, expiration: expiration, source: name)
    }
}
