import Foundation
import ReinCatalog
import ReinCrypto
import ReinPolicy
import ReinSigV4
import Testing
@testable import ReinSidecar

/// A broker that always has these credentials (or none).
struct FixedBroker: BrokerCredentialAccess {
    let credentials: AWSCredentials?
    func currentBrokerCredentials() -> (credentials: AWSCredentials, source: String)? {
        credentials.map { ($0, "static") }
    }
}

/// Shared, expensive fixtures (the catalog loads once).
enum GateFixture {
    static let catalog = try! ServiceCatalog.bundled()
    static let resolver = try! EndpointResolver.bundled()
    static let agent = AWSCredentials(accessKeyId: "ASIAAGENTKEY0000TEST", secretAccessKey: "agent-secret-key", sessionToken: "agent-token")
    static let broker = AWSCredentials(accessKeyId: "ASIABROKERKEY000TEST", secretAccessKey: "broker-secret", sessionToken: "broker-token")
    static let now: Int64 = 1_795_000_000 // 2026-11-18T11:06:40Z

    static let policyYAML = """
        apiVersion: rein.dev/v1alpha1
        kind: TaskPolicy
        agent: {id: test-agent, owner: team@example.com}
        task: {id: t1, purpose: tests, notBefore: 2026-11-01T00:00:00Z, notAfter: 2026-12-01T00:00:00Z}
        mode: MODE
        statements:
          - id: read-orders
            effect: allow
            actions: [dynamodb:GetItem]
            resources: ["arn:aws:dynamodb:us-east-1:123456789012:table/orders"]
          - id: read-reports
            effect: allow
            actions: [s3:GetObject, s3:PutObject]
            resources: ["arn:aws:s3:::reports/*"]
          - id: deletes-need-a-human
            effect: hold
            actions: [s3:DeleteObject]
            resources: ["arn:aws:s3:::reports/*"]
        """

    static func gate(mode: String = "enforce", sidecarMode: PolicyMode = .enforce, override: String? = nil,
                     broker: AWSCredentials? = GateFixture.broker) throws -> RequestGate {
        let loaded = PolicyLoader.load(policyYAML.replacingOccurrences(of: "MODE", with: mode))
        let document = try #require(loaded.document, "\(loaded.problems)")
        let settings = RequestGate.Settings(mode: sidecarMode, upstreamEndpoint: override.flatMap(URL.init(string:)), variant: [],
                                            maxInspectedBody: 1 << 20, accountId: "123456789012")
        return RequestGate(settings: settings, credentials: StaticCredentialLookup([agent]), clockSkew: 900, catalog: catalog,
                           resolver: resolver, policy: LivePolicy(document), broker: FixedBroker(credentials: broker))
    }

    /// A request signed by the agent, as an SDK would send it.
    static func signed(method: String = "POST", host: String, target: String = "/", headers: [(String, String)] = [],
                       body: [UInt8] = [], region: String = "us-east-1", service: String, declareHash: Bool = true,
                       via: RequestVia = .endpoint) -> AgentRequestHead {
        var request = SignableRequest(method: method, target: target, headers: [HTTPHeader("Host", host)] + headers.map { HTTPHeader($0.0, $0.1) })
        if !body.isEmpty { request.setHeader("Content-Length", String(body.count)) }
        let hash = SHA256.hash(body).hex
        if declareHash { request.setHeader("x-amz-content-sha256", hash) }
        _ = SigV4Signer().sign(&request, credentials: agent, region: region, service: service, time: now, payloadHash: hash)
        return AgentRequestHead(method: method, target: target, headers: request.headers, clientAddress: "127.0.0.1", via: via)
    }

    static func dynamoGetItem(table: String, host: String = "127.0.0.1:7474", via: RequestVia = .endpoint) -> (AgentRequestHead, [UInt8]) {
        let body = Array(#"{"TableName":"\#(table)","Key":{"id":{"S":"1"}}}"#.utf8)
        let head = signed(host: host, headers: [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "DynamoDB_20120810.GetItem")],
                          body: body, service: "dynamodb", declareHash: false, via: via)
        return (head, body)
    }
}

struct RequestGateTests {
    func decideFully(_ gate: RequestGate, _ head: AgentRequestHead, body: [UInt8]) -> GateOutcome {
        let first = gate.decide(head, body: nil, now: GateFixture.now, requestId: "REQ1")
        if case .needsBody = first { return gate.decide(head, body: body, now: GateFixture.now, requestId: "REQ1") }
        return first
    }

    @Test func allowedCallIsResignedWithBrokerCredentialsForTheCatalogEndpoint() throws {
        let gate = try GateFixture.gate()
        let (head, body) = GateFixture.dynamoGetItem(table: "orders")
        guard case .needsBody = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("a body-hash signature must be read before verifying")
            return
        }
        guard case .forward(let plan, let facts) = gate.decide(head, body: body, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a forward")
            return
        }
        #expect(plan.url == "https://dynamodb.us-east-1.amazonaws.com/")
        #expect(facts.decision == "allow" && facts.statementId == "read-orders")
        #expect(facts.grants.map(\.action) == ["dynamodb:GetItem"])
        let auth = try #require(plan.headers.first { $0.name.lowercased() == "authorization" }?.value)
        #expect(auth.contains("Credential=ASIABROKERKEY000TEST/20261118/us-east-1/dynamodb/aws4_request"))
        #expect(plan.headers.contains { $0.name.lowercased() == "x-amz-security-token" && $0.value == "broker-token" })
        #expect(!plan.headers.contains { $0.value.contains("agent-token") || $0.value.contains("ASIAAGENTKEY") })
        #expect(plan.headers.first { $0.name.lowercased() == "host" }?.value == "dynamodb.us-east-1.amazonaws.com")
        // The broker signature verifies as AWS would check it.
        let upstream = SignableRequest(method: "POST", target: "/", headers: plan.headers.map { HTTPHeader($0.name, $0.value) })
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([GateFixture.broker]))
        #expect(throws: Never.self) { try verifier.verify(upstream, bodyDigest: SHA256.hash(body), now: GateFixture.now) }
    }

    @Test func deniedCallGetsAccessDeniedNamingActionAndResource() throws {
        let gate = try GateFixture.gate()
        let (head, body) = GateFixture.dynamoGetItem(table: "payroll")
        guard case .reject(let rejection, let facts) = decideFully(gate, head, body: body) else {
            Issue.record("expected a denial")
            return
        }
        #expect(rejection.response.status == 400)
        let text = String(decoding: rejection.response.body, as: UTF8.self)
        #expect(text.contains("AccessDeniedException"))
        #expect(text.contains("dynamodb:GetItem") && text.contains("table/payroll"))
        #expect(facts.decision == "deny")
    }

    @Test func badSignatureIsRejectedBeforeAnythingElse() throws {
        let gate = try GateFixture.gate()
        var (head, body) = GateFixture.dynamoGetItem(table: "orders")
        body[body.count - 3] = UInt8(ascii: "2") // the body no longer matches the signature
        guard case .reject(let rejection, let facts) = decideFully(gate, head, body: body) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(String(decoding: rejection.response.body, as: UTF8.self).contains("InvalidSignatureException"))
        #expect(facts.decision == "error")
        head.headers.removeAll { $0.hasName("authorization") }
        guard case .reject(let anonymous, _) = decideFully(gate, head, body: body) else {
            Issue.record("an anonymous request must be rejected")
            return
        }
        #expect(anonymous.response.status == 403 || anonymous.response.status == 400)
    }

    @Test func unknownAgentKeyIsRejected() throws {
        let gate = try GateFixture.gate()
        var request = SignableRequest(method: "GET", target: "/reports/a.csv", headers: [HTTPHeader("Host", "127.0.0.1:7474")])
        request.setHeader("x-amz-content-sha256", SHA256.emptyHex)
        _ = SigV4Signer().sign(&request, credentials: AWSCredentials(accessKeyId: "AKIAREALAWSKEY000000", secretAccessKey: "x"),
                               region: "us-east-1", service: "s3", time: GateFixture.now, payloadHash: SHA256.emptyHex)
        let head = AgentRequestHead(method: "GET", target: request.target, headers: request.headers, clientAddress: nil, via: .endpoint)
        guard case .reject(let r, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a rejection")
            return
        }
        #expect(r.response.status == 403)
        #expect(String(decoding: r.response.body, as: UTF8.self).contains("<Code>InvalidAccessKeyId</Code>"))
    }

    @Test func overrideSendsEverythingToOneServerAndVirtualHostsBecomePathStyle() throws {
        let gate = try GateFixture.gate(override: "http://127.0.0.1:5000")
        let head = GateFixture.signed(method: "GET", host: "reports.s3.us-east-1.amazonaws.com", target: "/q3.csv", service: "s3",
                                      via: .proxyTLS(host: "reports.s3.us-east-1.amazonaws.com"))
        guard case .forward(let plan, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a forward")
            return
        }
        #expect(plan.url == "http://127.0.0.1:5000/reports/q3.csv")
        #expect(plan.headers.first { $0.name.lowercased() == "host" }?.value == "127.0.0.1:5000")
    }

    @Test func virtualHostedBucketKeepsItsNameOnTheRealEndpoint() throws {
        let gate = try GateFixture.gate()
        let head = GateFixture.signed(method: "GET", host: "reports.s3.us-east-1.amazonaws.com", target: "/q3.csv", service: "s3",
                                      via: .proxyTLS(host: "reports.s3.us-east-1.amazonaws.com"))
        guard case .forward(let plan, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a forward")
            return
        }
        #expect(plan.url == "https://reports.s3.us-east-1.amazonaws.com/q3.csv")
    }

    @Test func hostThatDisagreesWithTheTunnelOrScopeIsNeverAnUpstream() throws {
        let gate = try GateFixture.gate()
        // Inside a tunnel to dynamodb, a Host naming another server is refused.
        let (head, body) = GateFixture.dynamoGetItem(table: "orders", host: "evil.example.com",
                                                     via: .proxyTLS(host: "dynamodb.us-east-1.amazonaws.com"))
        guard case .reject(let r, _) = decideFully(gate, head, body: body) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(r.response.status == 400)
        // A tunnel to sqs carrying a request signed for dynamodb is unknown, hence denied.
        let (h2, b2) = GateFixture.dynamoGetItem(table: "orders", host: "sqs.us-east-1.amazonaws.com",
                                                 via: .proxyTLS(host: "sqs.us-east-1.amazonaws.com"))
        guard case .reject(let r2, let facts) = decideFully(gate, h2, body: b2) else {
            Issue.record("expected a denial")
            return
        }
        #expect(facts.decision == "deny")
        #expect(String(decoding: r2.response.body, as: UTF8.self).contains("AccessDenied"))
    }

    @Test func missingBrokerCredentialsFailClosed() throws {
        let gate = try GateFixture.gate(broker: nil)
        let head = GateFixture.signed(method: "GET", host: "127.0.0.1:7474", target: "/reports/q3.csv", service: "s3")
        guard case .reject(let r, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a refusal")
            return
        }
        #expect(r.response.status == 503)
    }

    @Test func observeModeForwardsAWouldBeDenialAndRecordsIt() throws {
        let gate = try GateFixture.gate(mode: "observe", sidecarMode: .observe)
        let (head, body) = GateFixture.dynamoGetItem(table: "payroll")
        guard case .forward(_, let facts) = decideFully(gate, head, body: body) else {
            Issue.record("observe mode forwards")
            return
        }
        #expect(facts.decision == "would-deny" && facts.mode == .observe)
    }

    @Test func policyModeMayBeNarrowerThanTheSidecarsNeverWider() throws {
        // The sidecar says observe, the policy says enforce: enforce wins.
        let narrower = try GateFixture.gate(mode: "enforce", sidecarMode: .observe)
        let (head, body) = GateFixture.dynamoGetItem(table: "payroll")
        guard case .reject = decideFully(narrower, head, body: body) else {
            Issue.record("a narrower policy mode must apply")
            return
        }
        // The sidecar says enforce, the policy says learn: still enforce.
        let wider = try GateFixture.gate(mode: "learn", sidecarMode: .enforce)
        guard case .reject = decideFully(wider, head, body: body) else {
            Issue.record("a policy cannot widen the sidecar's mode")
            return
        }
    }

    @Test func holdStatementsGoToTheHoldGate() throws {
        let gate = try GateFixture.gate()
        let head = GateFixture.signed(method: "DELETE", host: "127.0.0.1:7474", target: "/reports/old.csv", service: "s3")
        guard case .hold(let hold, let facts) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a hold")
            return
        }
        #expect(hold.statementId == "deletes-need-a-human" && hold.operation == "DeleteObject")
        #expect(facts.decision == "hold")
    }

    @Test func unsignedHeadersAreNotLaunderedIntoTheBrokerSignature() throws {
        let gate = try GateFixture.gate()
        var head = GateFixture.signed(method: "GET", host: "127.0.0.1:7474", target: "/reports/q3.csv", service: "s3")
        head.headers.append(HTTPHeader("X-Custom", "added-after-signing"))
        guard case .forward(let plan, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("expected a forward")
            return
        }
        let auth = try #require(plan.headers.first { $0.name.lowercased() == "authorization" }?.value)
        #expect(!auth.contains("x-custom"))
        // An x-amz-* header added after signing is refused outright.
        head.headers.append(HTTPHeader("x-amz-acl", "public-read"))
        guard case .reject = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R") else {
            Issue.record("an unsigned x-amz header must be refused")
            return
        }
    }

    @Test func streamedUploadWithDeclaredHashIsCheckedBeforeItsLastBytesLeave() throws {
        let gate = try GateFixture.gate()
        let body = Array(repeating: UInt8(ascii: "x"), count: 100_000)
        let head = GateFixture.signed(method: "PUT", host: "127.0.0.1:7474", target: "/reports/big.bin", body: body, service: "s3")
        guard case .forward(let plan, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R"),
              case .stream(let processor, let length) = plan.body else {
            Issue.record("expected a streamed forward")
            return
        }
        #expect(length == 100_000)
        var sent = try processor.consume(Array(body[0..<60_000]))
        sent += try processor.consume(Array(body[60_000...]))
        #expect(sent.count == 60_000) // the last piece is held back
        sent += try processor.finish()
        #expect(sent == body)

        // A body that differs from the signed hash never completes.
        guard case .forward(let plan2, _) = gate.decide(head, body: nil, now: GateFixture.now, requestId: "R"),
              case .stream(let p2, _) = plan2.body else { return }
        _ = try p2.consume(Array(repeating: UInt8(ascii: "y"), count: 100_000))
        #expect(throws: SigV4Error.self) { try p2.finish() }
    }
}
