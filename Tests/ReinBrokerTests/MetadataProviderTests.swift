import Foundation
import ReinUpstream
import Testing
@testable import ReinBroker

/// The container endpoint (ECS, EKS Pod Identity) and IMDSv2, against the fixture server.
struct MetadataProviderTests {
    @Test func containerFullURIWithTokenFile() throws {
        let server = try MetadataServer(["--container-token", "Bearer pod-identity-token"])
        let dir = try TempDir()
        let tokenFile = try dir.write("token", "Bearer pod-identity-token\n")
        let provider = try ContainerCredentialProvider(environment: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.base + "/container/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-a-file-is-given",
        ], http: HTTPClient())
        let now = Date()
        let creds = try provider.fetch(now: now)
        #expect(creds.accessKeyId.hasPrefix("ASIACTNR"))
        #expect(creds.credentials.sessionToken?.hasPrefix("token-") == true)
        #expect(abs(try #require(creds.expiration).timeIntervalSince(now) - 3600) < 15)
        let sent = try #require(server.log().requests.first)
        #expect(sent.headers["authorization"] == "Bearer pod-identity-token")
    }

    @Test func containerRejectedTokenIsAnHTTPError() throws {
        let server = try MetadataServer(["--container-token", "right"])
        let provider = try ContainerCredentialProvider(environment: [
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.base + "/container/creds",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong",
        ], http: HTTPClient())
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: Date()) }
        #expect(error?.kind == .httpStatus(403))
        #expect(error?.message.contains("bad authorization token") == true)
        #expect(error.map(String.init(describing:))?.contains("wrong") == false)
    }

    @Test func containerRelativeURIUsesTheECSAgentAddress() throws {
        let provider = try ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"], http: HTTPClient())
        #expect(provider.url == "http://169.254.170.2/v2/credentials/abc")
        #expect(provider.authorization == .none)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/creds", true), ("http://127.9.8.7/creds", true), ("http://[::1]:9911/creds", true),
        ("http://169.254.170.2/v2/credentials/x", true), ("http://169.254.170.23/v1/credentials", true),
        ("http://[fd00:ec2::23]/v1/credentials", true), ("https://creds.example.com/x", true),
        ("http://10.0.0.5/creds", false), ("http://169.254.169.254/latest", false), ("http://creds.example.com/x", false),
        ("http://localhost/creds", false), ("http://[fd00:ec2::24]/x", false), ("http://128.0.0.1/x", false),
        ("file:///etc/passwd", false),
    ])
    func containerFullURIHosts(url: String, allowed: Bool) {
        let result = Result { () throws(BrokerError) in
            try ContainerCredentialProvider(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url], http: HTTPClient())
        }
        switch result {
        case .success: #expect(allowed, "\(url) should be refused")
        case .failure(let error):
            #expect(!allowed, "\(url) should be allowed: \(error)")
            #expect(error.kind == .configuration)
        }
    }

    @Test func containerWithoutVariablesIsAConfigurationError() {
        let error = #expect(throws: BrokerError.self) { try ContainerCredentialProvider(environment: [:], http: HTTPClient()) }
        #expect(error?.message.contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") == true)
    }

    @Test func imdsUsesASessionTokenForEveryRead() throws {
        let server = try MetadataServer()
        let provider = try IMDSv2Provider(endpoint: nil, environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base], http: HTTPClient())
        let now = Date()
        let creds = try provider.fetch(now: now)
        #expect(creds.accessKeyId.hasPrefix("ASIAIMDS"))
        #expect(creds.source == "imds")
        #expect(abs(try #require(creds.expiration).timeIntervalSince(now) - 3600) < 15)

        let log = try server.log()
        #expect(log.imdsv1_attempts == 0)
        #expect(log.requests.map { "\($0.method) \($0.path)" } == [
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/rein-test-role",
        ])
        #expect(log.requests.first?.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
        let tokens = Set(log.requests.dropFirst().compactMap { $0.headers["x-aws-ec2-metadata-token"] })
        #expect(tokens.count == 1 && tokens.first?.hasPrefix("imds-") == true)
    }

    @Test func imdsNeverFallsBackToV1() throws {
        let server = try MetadataServer()
        // The token PUT goes to a path that answers 404, as an IMDSv1-only stand-in would.
        let provider = try IMDSv2Provider(endpoint: server.base + "/v1-only", http: HTTPClient())
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: Date()) }
        #expect(error?.kind == .httpStatus(404))
        #expect(error?.message.contains("never falls back to IMDSv1") == true)
        let log = try server.log()
        #expect(log.requests.allSatisfy { $0.method == "PUT" })
        #expect(log.imdsv1_attempts == 0)
    }

    @Test func imdsUnreachableIsATransportError() throws {
        let provider = try IMDSv2Provider(endpoint: "http://127.0.0.1:9", timeout: 1, http: HTTPClient())
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: Date()) }
        #expect(error?.kind == .transport)
    }

    @Test func imdsDisabledByEnvironmentIsRefused() {
        let error = #expect(throws: BrokerError.self) {
            try IMDSv2Provider(endpoint: nil, environment: ["AWS_EC2_METADATA_DISABLED": "true"], http: HTTPClient())
        }
        #expect(error?.kind == .configuration)
    }
}
