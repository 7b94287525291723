import Foundation
import ReinUpstream

/// The EC2 instance role's credentials from the instance metadata service,
/// IMDSv2 only.
///
/// Every fetch first PUTs for a session token and sends it with each GET.
/// There is deliberately no IMDSv1 fallback: a sidecar that sends
/// token-less GETs is exactly what SSRF through a proxy exploits, and an
/// instance that enforces v2 would answer 401 anyway. Timeouts are short
/// because off EC2 the address does not answer at all.
public struct IMDSv2Provider: BrokerCredentialProvider {
    public static let defaultEndpoint = "http://169.254.169.254"
    public static let defaultIPv6Endpoint = "http://[fd00:ec2::254]"
    static let tokenTTLSeconds = 21_600
    static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    public let name = "imds"
    public let endpoint: String
    public let timeout: Double
    private let http: HTTPClient

    public init(endpoint: String = IMDSv2Provider.defaultEndpoint, timeout: Double = 2, http: HTTPClient) throws(BrokerError) {
        guard EndpointURL(endpoint) != nil else {
            throw .configuration("imds", "imds_endpoint \(URLText.redacted(endpoint).debugDescription) is not an http(s) URL")
        }
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.timeout = timeout
        self.http = http
    }

    /// The endpoint from `AWS_EC2_METADATA_SERVICE_ENDPOINT` (or the IPv6
    /// default when `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`) unless one
    /// is given; refuses when `AWS_EC2_METADATA_DISABLED=true`.
    public init(endpoint: String?, environment env: [String: String], timeout: Double = 2, http: HTTPClient) throws(BrokerError) {
        if env["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            throw .configuration("imds", "AWS_EC2_METADATA_DISABLED is true but broker.provider is imds")
        }
        let fromMode = env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" ? Self.defaultIPv6Endpoint : Self.defaultEndpoint
        let chosen = endpoint ?? env["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? fromMode
        try self.init(endpoint: chosen, timeout: timeout, http: http)
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        let tokenResponse = try send("PUT", "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(Self.tokenTTLSeconds))])
        let token = tokenResponse.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard tokenResponse.status == 200, !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw BrokerError(provider: name, kind: .httpStatus(tokenResponse.status),
                              message: "IMDS refused a v2 session token (HTTP \(tokenResponse.status)); Rein never falls back to IMDSv1. In a container, raise the instance's metadata hop limit to 2")
        }
        let auth = [(name: "X-aws-ec2-metadata-token", value: token)]
        let roleResponse = try send("GET", Self.credentialsPath, headers: auth)
        guard roleResponse.status == 200 else {
            throw BrokerError(provider: name, kind: .httpStatus(roleResponse.status),
                              message: roleResponse.status == 404 ? "the instance has no IAM role (instance profile) attached"
                                  : "IMDS answered HTTP \(roleResponse.status) for the role name")
        }
        guard let role = roleResponse.bodyText.split(whereSeparator: \.isNewline).first
            .map({ $0.trimmingCharacters(in: .whitespaces) }), !role.isEmpty, !role.contains("/") else {
            throw .malformed(name, "IMDS named no IAM role")
        }
        let path = Self.credentialsPath + (role.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? role)
        return try CredentialDocument.credentials(from: try send("GET", path, headers: auth), what: "IMDS (role \(role))", provider: name)
    }

    private func send(_ method: String, _ path: String, headers: [(name: String, value: String)]) throws(BrokerError) -> HTTPClientResponse {
        do {
            return try http.send(HTTPClientRequest(method: method, url: endpoint + path, headers: headers, timeout: timeout))
        } catch {
            throw BrokerError(provider: name, kind: .transport, message: "IMDS at \(endpoint) did not answer \(method) \(path): \(error.message) (is this an EC2 instance?)")
        }
    }
}
