/// An AWS access key pair with an optional session token.
///
/// Its description and debug description redact the secret and the token,
/// so a credential printed by accident never leaks.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let accessKeyId: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    public var description: String {
        "AWSCredentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }

    public var debugDescription: String { description }
}

/// Looks up the secret for an access key id that an agent signed with.
public protocol CredentialLookup: Sendable {
    func credentials(forAccessKeyId accessKeyId: String) -> AWSCredentials?
}

/// A fixed set of credentials: for tests, `rein sigv4 explain`, and static
/// agent keys (which the sidecar flags at start-up).
public struct StaticCredentialLookup: CredentialLookup {
    private let byKeyId: [String: AWSCredentials]

    public init(_ credentials: [AWSCredentials]) {
        var map: [String: AWSCredentials] = [:]
        for c in credentials { map[c.accessKeyId] = c }
        byKeyId = map
    }

    public func credentials(forAccessKeyId accessKeyId: String) -> AWSCredentials? {
        byKeyId[accessKeyId]
    }
}
