import Foundation
import ReinUpstream

/// Credentials from the container credentials endpoint: ECS task roles and
/// EKS Pod Identity.
///
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is appended to ECS's fixed
/// address. `AWS_CONTAINER_CREDENTIALS_FULL_URI` may be https anywhere, but
/// plain http only to the loopback interface or the ECS and EKS agents'
/// link-local addresses, as the AWS SDKs insist: anything else would let
/// whoever controls the variable point Rein (and its authorization token) at
/// an arbitrary host. The authorization token is read from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` on every fetch (EKS rotates it),
/// else from `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
public struct ContainerCredentialProvider: BrokerCredentialProvider {
    public static let ecsHost = "http://169.254.170.2"
    /// IPv4 and IPv6 addresses of the ECS and EKS Pod Identity agents.
    static let agentAddresses: [[UInt8]] = [
        [169, 254, 170, 2], [169, 254, 170, 23],
        [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x23],
    ]

    public enum Authorization: Sendable, Equatable {
        case none
        case token(String)
        case tokenFile(String)
    }

    public let name = "container"
    public let url: String
    public let authorization: Authorization
    public let timeout: Double
    private let http: HTTPClient

    public init(url: String, authorization: Authorization = .none, timeout: Double = 2, http: HTTPClient) throws(BrokerError) {
        guard let endpoint = EndpointURL(url) else {
            throw .configuration("container", "container credentials URI \(URLText.redacted(url).debugDescription) is not an http(s) URL")
        }
        guard endpoint.scheme == "https" || Self.isAllowedHost(endpoint) else {
            throw .configuration("container", "AWS_CONTAINER_CREDENTIALS_FULL_URI host \(endpoint.host) is not loopback (127.0.0.0/8, ::1) or an ECS/EKS agent address (169.254.170.2, 169.254.170.23, fd00:ec2::23); use https for any other host")
        }
        self.url = url
        self.authorization = authorization
        self.timeout = timeout
        self.http = http
    }

    /// Reads the AWS container variables from `env`.
    public init(environment env: [String: String], timeout: Double = 2, http: HTTPClient) throws(BrokerError) {
        func value(_ key: String) -> String? { env[key].flatMap { $0.isEmpty ? nil : $0 } }
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = Self.ecsHost + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            url = full
        } else {
            throw .configuration("container", "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set (is this an ECS task or an EKS pod with Pod Identity?)")
        }
        let authorization: Authorization = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").map { .tokenFile($0) }
            ?? value("AWS_CONTAINER_AUTHORIZATION_TOKEN").map { .token($0) } ?? .none
        try self.init(url: url, authorization: authorization, timeout: timeout, http: http)
    }

    static func isAllowedHost(_ endpoint: EndpointURL) -> Bool {
        if endpoint.isLoopback { return true }
        guard let bytes = endpoint.ipv4 ?? endpoint.ipv6 else { return false }
        return agentAddresses.contains(bytes)
    }

    public func fetch(now: Date) throws(BrokerError) -> BrokerCredentials {
        var headers: [(name: String, value: String)] = []
        if let token = try authorizationToken() { headers.append(("Authorization", token)) }
        let response: HTTPClientResponse
        do {
            response = try http.send(HTTPClientRequest(method: "GET", url: url, headers: headers, timeout: timeout))
        } catch {
            throw BrokerError(provider: name, kind: .transport, message: "container credentials endpoint \(url): \(error.message)")
        }
        return try CredentialDocument.credentials(from: response, what: "the container credentials endpoint", provider: name)
    }

    private func authorizationToken() throws(BrokerError) -> String? {
        let token: String
        switch authorization {
        case .none: return nil
        case .token(let value): token = value
        case .tokenFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw .configuration(name, "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \(path)")
            }
            token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard !token.isEmpty, !token.contains(where: { $0 == "\r" || $0 == "\n" }) else {
            throw .configuration(name, "the container authorization token is empty or contains a line break")
        }
        return token
    }
}
