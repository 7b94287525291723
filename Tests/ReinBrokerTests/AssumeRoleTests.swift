import Foundation
import ReinSigV4
import ReinUpstream
import Synchronization
import Testing
@testable import ReinBroker

/// AssumeRole and AssumeRoleWithWebIdentity against moto's STS (what a real
/// STS answers) and against the fixture's recording STS (what Rein sends).
struct AssumeRoleTests {
    let roleArn = "arn:aws:iam::123456789012:role/rein-broker"
    let context = BrokerContext(agentId: "agent-7", taskId: "task-42")

    func assumeRole(endpoint: String, context: BrokerContext? = nil, duration: Int = 3600, sessionName: String? = nil,
                    externalId: String? = nil, base: any BrokerCredentialProvider = fakeStaticBase) throws -> AssumeRoleProvider {
        try AssumeRoleProvider(
            base: base,
            options: .init(roleArn: roleArn, sessionName: sessionName, externalId: externalId, durationSeconds: duration,
                           region: "us-west-2", endpoint: endpoint),
            context: context ?? self.context, http: HTTPClient())
    }

    @Test func motoIssuesSessionCredentialsForTheRequestedDuration() throws {
        let provider = try assumeRole(endpoint: try Moto.endpoint(), duration: 1800)
        let now = Date()
        let creds = try provider.fetch(now: now)
        #expect(creds.accessKeyId.hasPrefix("ASIA"))
        #expect(creds.credentials.sessionToken?.isEmpty == false)
        #expect(creds.source == "assume_role")
        let lifetime = try #require(creds.expiration).timeIntervalSince(now)
        #expect(abs(lifetime - 1800) < 15, "expiration \(lifetime) s away, wanted 1800")
    }

    @Test func motoSessionEndsWithTheTask() throws {
        let now = Date()
        let task = BrokerContext(agentId: "agent-7", taskId: "task-42", taskExpiry: now.addingTimeInterval(1000))
        let creds = try assumeRole(endpoint: try Moto.endpoint(), context: task, duration: 3600).fetch(now: now)
        let lifetime = try #require(creds.expiration).timeIntervalSince(now)
        #expect(abs(lifetime - 1000) < 15, "expiration \(lifetime) s away, wanted the task's 1000")
    }

    @Test func motoErrorBecomesTypedSTSError() throws {
        let provider = try assumeRole(endpoint: try Moto.endpoint(), sessionName: String(repeating: "s", count: 70))
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: Date()) }
        #expect(error?.kind == .sts(code: "ValidationError"))
        #expect(error?.message.contains("roleSessionName") == true)
        #expect(error?.provider == "assume_role")
    }

    @Test func motoWebIdentityWithTokenFile() throws {
        let dir = try TempDir()
        let tokenFile = try dir.write("token", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2ln\n")
        let provider = try WebIdentityProvider(
            options: .init(roleArn: roleArn, tokenFile: tokenFile, durationSeconds: 900, region: "us-east-1", endpoint: try Moto.endpoint()),
            context: context, http: HTTPClient())
        let now = Date()
        let creds = try provider.fetch(now: now)
        #expect(creds.accessKeyId.hasPrefix("ASIA"))
        #expect(creds.source == "web_identity")
        #expect(abs(try #require(creds.expiration).timeIntervalSince(now) - 900) < 15)
    }

    @Test func sendsSessionPolicySourceIdentityTagsAndExternalId() throws {
        let server = try MetadataServer()
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::b/*"]}]}"#
        let task = BrokerContext(agentId: "agent 7/α", taskId: "task-42", taskExpiry: Date().addingTimeInterval(2000),
                                 sessionPolicy: { _ in policy })
        let creds = try assumeRole(endpoint: server.base + "/sts", context: task, externalId: "ext-123").fetch(now: Date())
        #expect(creds.accessKeyId.hasPrefix("ASIASTS"))

        let sent = try #require(server.log().requests.first { $0.path == "/sts" })
        let form = sent.form
        #expect(form["Action"] == "AssumeRole")
        #expect(form["Version"] == "2011-06-15")
        #expect(form["RoleArn"] == roleArn)
        #expect(form["Policy"] == policy)
        #expect(form["SourceIdentity"] == "agent-7--")
        #expect(form["RoleSessionName"] == "rein-agent-7---task-42")
        #expect(form["Tags.member.1.Key"] == "rein:agent")
        #expect(form["Tags.member.1.Value"] == "agent 7/α")
        #expect(form["Tags.member.2.Key"] == "rein:task")
        #expect(form["Tags.member.2.Value"] == "task-42")
        #expect(form["ExternalId"] == "ext-123")
        let duration = Int(form["DurationSeconds"] ?? "") ?? 0
        #expect((1990...2000).contains(duration), "duration \(duration) should be the task's remaining 2000 s")
        // Signed with the base credentials for sts in the configured region.
        let authorization = sent.headers["authorization"] ?? ""
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDBASEEXAMPLE/"))
        #expect(authorization.contains("/us-west-2/sts/aws4_request"))
        #expect(authorization.contains("x-amz-security-token"))
        #expect(sent.headers["x-amz-security-token"] == "base-token-do-not-leak")
        #expect(sent.headers["host"] == "127.0.0.1:\(server.port)")
    }

    @Test func packedPolicyTooLargeRetriesWithSmallerBudget() throws {
        let server = try MetadataServer(["--sts-max-policy", "300"])
        let budgets = BudgetLog()
        let task = BrokerContext(agentId: "a1", taskId: "t1", sessionPolicy: { budget in
            budgets.append(budget)
            return String(repeating: "x", count: min(budget, 500))
        })
        let creds = try assumeRole(endpoint: server.base + "/sts", context: task).fetch(now: Date())
        #expect(creds.accessKeyId.hasPrefix("ASIA"))
        // 500 characters were 166 % of the allowance: aim 10 % under it.
        #expect(budgets.values == [2048, 271])
        let policies = try server.log().requests.compactMap { $0.form["Policy"]?.count }
        #expect(policies == [500, 271])
    }

    @Test func packedPolicyTooLargeGivesUpAfterTwoRetries() throws {
        let server = try MetadataServer(["--sts-max-policy", "10"])
        let budgets = BudgetLog()
        // A policy that cannot shrink: each retry is refused again.
        let task = BrokerContext(agentId: "a1", taskId: "t1", sessionPolicy: { budget in
            budgets.append(budget)
            return String(repeating: "x", count: 500)
        })
        let error = #expect(throws: BrokerError.self) { try assumeRole(endpoint: server.base + "/sts", context: task).fetch(now: Date()) }
        #expect(error?.stsCode == "PackedPolicyTooLarge")
        #expect(budgets.values.count == 3)
    }

    @Test func webIdentityRereadsTheTokenFileAndIsUnsigned() throws {
        let server = try MetadataServer()
        let dir = try TempDir()
        let tokenFile = try dir.write("token", "first-token")
        let provider = try WebIdentityProvider(
            options: .init(roleArn: roleArn, tokenFile: tokenFile, region: "eu-west-1", endpoint: server.base + "/sts"),
            context: BrokerContext(agentId: "a1", taskId: "t1", sessionPolicy: { _ in "{\"p\":1}" }), http: HTTPClient())
        _ = try provider.fetch(now: Date())
        try dir.write("token", "second-token")
        _ = try provider.fetch(now: Date())
        let sent = try server.log().requests.filter { $0.path == "/sts" }
        #expect(sent.map { $0.form["WebIdentityToken"] } == ["first-token", "second-token"])
        #expect(sent.allSatisfy { $0.headers["authorization"] == nil && $0.form["Action"] == "AssumeRoleWithWebIdentity" })
        #expect(sent.first?.form["Policy"] == "{\"p\":1}")
    }

    @Test func taskEndingWithin900SecondsFailsWithoutCallingSTS() throws {
        let base = FakeProvider(lifetime: 3600)
        let now = Date()
        let task = BrokerContext(agentId: "a1", taskId: "t1", taskExpiry: now.addingTimeInterval(899))
        // Port 9 (discard) would fail with a transport error if STS were called.
        let provider = try assumeRole(endpoint: "http://127.0.0.1:9", context: task, base: base)
        let error = #expect(throws: BrokerError.self) { try provider.fetch(now: now) }
        #expect(error?.kind == .taskTooShort)
        #expect(error?.isRetryable == false)
        #expect(base.fetches == 0)
    }

    @Test(arguments: [
        (3600, 7200 as Int?, 3600), (3600, 1000, 1000), (1200, 900, 900), (900, nil, 900), (43200, 50000, 43200),
    ] as [(Int, Int?, Int)])
    func durationIsTheShorterOfConfiguredAndTaskRemaining(configured: Int, remaining: Int?, expected: Int) throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let expiry = remaining.map { now.addingTimeInterval(TimeInterval($0)) }
        #expect(try SessionScope.duration(configured: configured, now: now, taskExpiry: expiry, provider: "t") == expected)
    }

    @Test(arguments: [899, 0, -60])
    func durationRefusesTasksShorterThanSTSMinimum(remaining: Int) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let error = #expect(throws: BrokerError.self) {
            try SessionScope.duration(configured: 3600, now: now, taskExpiry: now.addingTimeInterval(TimeInterval(remaining)), provider: "t")
        }
        #expect(error?.kind == .taskTooShort)
    }

    @Test func plainHTTPToARemoteSTSIsRefused() {
        let error = #expect(throws: BrokerError.self) { try assumeRole(endpoint: "http://sts.example.com") }
        #expect(error?.kind == .configuration)
    }

    @Test func defaultEndpointIsRegional() {
        #expect(STSClient.regionalEndpoint("eu-central-1") == "https://sts.eu-central-1.amazonaws.com")
        #expect(STSClient.regionalEndpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn")
    }
}

/// Budgets the session-policy closure was called with.
final class BudgetLog: Sendable {
    private let log = Mutex<[Int]>([])
    func append(_ budget: Int) { log.withLock { $0.append(budget) } }
    var values: [Int] { log.withLock { $0 } }
}
