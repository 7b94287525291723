import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// Malformed and hostile requests get the typed error (and AWS code) that AWS
/// itself would send, and nothing verifies that should not.
struct VerifierErrorTests {
    static let creds = AWSCredentials(accessKeyId: "AKIDAGENT", secretAccessKey: "agent-secret")
    static let tokenCreds = AWSCredentials(accessKeyId: "ASIAAGENT", secretAccessKey: "agent-secret-2", sessionToken: "tok-123")
    static let now: Int64 = AmzDate.parse("20260315T120000Z")!
    static let verifier = SigV4Verifier(credentials: StaticCredentialLookup([creds, tokenCreds]))

    /// A DynamoDB-style request, signed by Rein's signer (itself checked
    /// against the AWS suites and botocore).
    static func signed(_ creds: AWSCredentials = creds, time: Int64 = now, extraHeaders: [HTTPHeader] = [],
                       edit: (inout SignableRequest) -> Void = { _ in }) -> SignableRequest {
        var r = SignableRequest(method: "POST", target: "/", headers: [
            HTTPHeader("Host", "dynamodb.us-east-1.amazonaws.com"),
            HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem"),
            HTTPHeader("Content-Type", "application/x-amz-json-1.0"),
        ] + extraHeaders)
        SigV4Signer().sign(&r, credentials: creds, region: "us-east-1", service: "dynamodb", time: time,
                           payloadHash: SHA256.hash(body).hex)
        edit(&r)
        return r
    }

    static let body = Array(#"{"TableName":"t","Item":{"pk":{"S":"1"}}}"#.utf8)

    func failure(_ r: SignableRequest, body: [UInt8] = body, at time: Int64 = now) -> SigV4Error? {
        Self.verifier.analyze(r, bodyDigest: SHA256.hash(body), now: time).outcome.failureValue
    }

    @Test func goodRequestVerifies() throws {
        let v = try Self.verifier.verify(Self.signed(), bodyDigest: SHA256.hash(Self.body), now: Self.now)
        #expect(v.scope == CredentialScope(date: "20260315", region: "us-east-1", service: "dynamodb"))
        #expect(v.signedHeaders == ["content-type", "host", "x-amz-date", "x-amz-target"])
        #expect(v.payloadMode == .bodyHash)
    }

    @Test func alteredBodyIsSignatureMismatch() {
        let e = failure(Self.signed(), body: Array("{}".utf8))
        #expect(e?.code == .signatureMismatch)
        #expect(e?.awsCode(for: .json) == "InvalidSignatureException")
        #expect(e?.awsCode(for: .query) == "SignatureDoesNotMatch")
    }

    @Test func clockSkew() {
        #expect(failure(Self.signed(), at: Self.now + 901)?.code == .requestTimeTooSkewed)
        #expect(failure(Self.signed(), at: Self.now - 901)?.awsCode(for: .s3) == "RequestTimeTooSkewed")
        #expect(failure(Self.signed(), at: Self.now + 899) == nil)
        let strict = SigV4Verifier(credentials: StaticCredentialLookup([Self.creds]), allowedClockSkew: 60)
        #expect(strict.analyze(Self.signed(), bodyDigest: SHA256.hash(Self.body), now: Self.now + 61).outcome.failureValue?.code == .requestTimeTooSkewed)
    }

    /// An agent that swapped its key id and secret key sends the secret where
    /// the key id belongs: the error (the agent's answer, the audit reason)
    /// describes it and does not repeat it.
    @Test func aSecretInTheKeyIdPlaceIsNotRepeated() {
        let secret = "wJalrXUtnFEMIxK7MDENGxbPxRfiCYEXAMPLEKEY"
        let e = failure(Self.signed(AWSCredentials(accessKeyId: secret, secretAccessKey: "AKIAIOSFODNN7EXAMPLE")))
        #expect(e?.code == .unknownAccessKey)
        #expect(e.map { !$0.message.contains("wJalrXUtnFEMI") && $0.message.contains("not an access key id: 40 characters") } == true)
        // One with slashes makes the Credential malformed: not repeated either.
        let slashed = failure(Self.signed(AWSCredentials(accessKeyId: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", secretAccessKey: "x")))
        #expect(slashed?.code == .malformedCredential && slashed?.message.contains("wJalrXUtnFEMI") == false)
        #expect(EchoText.accessKeyId("AKIAIOSFODNN7EXAMPLE") == "AKIAIOSFODNN7EXAMPLE" && EchoText.accessKeyId(secret) == nil)
        #expect(EchoText.word("Bearer") == "'Bearer'" && EchoText.word("tok-0123456789abcdef0123456789") == "(30 characters)")
        // Messages another service answered keep their words, ARNs and ids, not echoed tokens.
        let aws = "User: arn:aws:sts::123456789012:assumed-role/rein-broker/session is not authorized; RequestId 4d2f8f1c-8f5e-4a57-9b7a-3f1e2d4c5b6a"
        #expect(EchoText.withoutLongTokens(aws) == aws)
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cmVpbjpyZWluIn0.c2lnbmF0dXJl"
        #expect(!EchoText.withoutLongTokens("bad request WebIdentityToken=\(jwt)").contains("eyJhbGci"))
        #expect(!EchoText.withoutLongTokens("token " + String(repeating: "ab12", count: 10)).contains("ab12ab12"))
    }

    @Test func unknownAccessKey() {
        let e = failure(Self.signed(AWSCredentials(accessKeyId: "AKIDOTHER", secretAccessKey: "x")))
        #expect(e?.code == .unknownAccessKey)
        #expect(e?.awsCode(for: .s3) == "InvalidAccessKeyId")
        #expect(e?.awsCode(for: .query) == "InvalidClientTokenId")
    }

    @Test func sessionTokens() {
        #expect(failure(Self.signed(Self.tokenCreds)) == nil)
        // Token missing: strip it and its mention from SignedHeaders by re-signing without a token.
        let noToken = Self.signed(AWSCredentials(accessKeyId: "ASIAAGENT", secretAccessKey: "agent-secret-2"))
        #expect(failure(noToken)?.code == .invalidToken)
        let wrongToken = Self.signed(AWSCredentials(accessKeyId: "ASIAAGENT", secretAccessKey: "agent-secret-2", sessionToken: "tok-999"))
        #expect(failure(wrongToken)?.code == .invalidToken)
    }

    @Test func unsignedAmzHeaderIsRefused() {
        let r = Self.signed { $0.headers.append(HTTPHeader("X-Amz-Meta-Injected", "1")) }
        let e = failure(r)
        #expect(e?.code == .unsignedHeader)
        #expect(e?.message.contains("x-amz-meta-injected") == true)
        // An unsigned non-amz header (User-Agent) is fine.
        #expect(failure(Self.signed { $0.headers.append(HTTPHeader("User-Agent", "boto3")) }) == nil)
    }

    @Test func hostMustBeSigned() {
        let r = Self.signed { r in
            let auth = r.firstValue("authorization")!.replacingOccurrences(of: "content-type;host;", with: "content-type;")
            r.setHeader("Authorization", auth)
        }
        #expect(failure(r)?.code == .unsignedHeader)
    }

    @Test func signedHeaderMissingFromRequest() {
        let r = Self.signed { $0.removeHeader("content-type") }
        #expect(failure(r)?.code == .missingSignedHeader)
    }

    @Test(arguments: [
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/20260315/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date", SigV4Error.Code.incompleteSignature),
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/20260315/us-east-1/dynamodb, SignedHeaders=host;x-amz-date, Signature=00", .malformedCredential),
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/2026031/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", .malformedCredential),
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/20260315/us-east-1/dynamodb/aws4_request, SignedHeaders=x-amz-date;host, Signature=00", .incompleteSignature),
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/20260315/us-east-1/dynamodb/aws4_request, SignedHeaders=Host;x-amz-date, Signature=00", .incompleteSignature),
        ("AWS4-HMAC-SHA256 Credential=a/20260315/us-east-1/dynamodb/aws4_request, Credential=b/20260315/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00", .incompleteSignature),
        ("AWS AKIDAGENT:c2lnbmF0dXJl", .unsupportedAlgorithm),
        ("AWS4-ECDSA-P256-SHA256 Credential=AKIDAGENT/20260315/dynamodb/aws4_request, SignedHeaders=host, Signature=00", .unsupportedAlgorithm),
        ("Bearer abc", .unsupportedAlgorithm),
        ("AWS4-HMAC-SHA256 Credential=AKIDAGENT/20260314/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", .malformedCredential),
    ] as [(String, SigV4Error.Code)])
    func malformedAuthorization(_ header: String, _ code: SigV4Error.Code) {
        let r = Self.signed { $0.setHeader("Authorization", header) }
        #expect(failure(r)?.code == code)
    }

    @Test func missingAndAmbiguousAuthentication() {
        var anonymous = Self.signed()
        anonymous.removeHeader("authorization")
        #expect(failure(anonymous)?.code == .missingAuthentication)
        #expect(failure(anonymous)?.awsCode(for: .s3) == "AccessDenied")

        var both = Self.signed()
        both.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        #expect(failure(both)?.code == .ambiguousAuthentication)

        var sigv2 = anonymous
        sigv2.query = "AWSAccessKeyId=AKIDAGENT&Expires=1&Signature=abc"
        let e = failure(sigv2)
        #expect(e?.code == .unsupportedAlgorithm)
        #expect(e?.message.contains("s3v4") == true)
    }

    @Test func badDates() {
        #expect(failure(Self.signed { $0.setHeader("X-Amz-Date", "2026-03-15T12:00:00Z") })?.code == .malformedDate)
        #expect(failure(Self.signed { $0.headers.append(HTTPHeader("X-Amz-Date", "20260315T120000Z")) })?.code == .malformedDate)
    }

    @Test func invalidPayloadHashHeader() {
        let r = Self.signed(extraHeaders: [HTTPHeader("x-amz-content-sha256", "not-a-hash")])
        #expect(failure(r)?.code == .invalidPayloadHash)
        #expect(failure(r)?.awsCode(for: .s3) == "InvalidArgument")
    }

    @Test func presignParameters() {
        var r = SignableRequest(method: "GET", target: "/bucket/key", headers: [HTTPHeader("Host", "s3.amazonaws.com")])
        SigV4Signer().presign(&r, credentials: Self.creds, region: "us-east-1", service: "s3", time: Self.now,
                              expires: 600, payloadHash: PayloadMode.unsignedPayload)
        #expect(failure(r, at: Self.now + 10) == nil)
        #expect(failure(r, at: Self.now + 601)?.code == .presignExpired)
        #expect(failure(r, at: Self.now - 3600)?.code == .presignExpired) // not yet valid
        var tooLong = r
        tooLong.query = r.query!.replacingOccurrences(of: "X-Amz-Expires=600", with: "X-Amz-Expires=604801")
        #expect(failure(tooLong)?.code == .malformedQueryAuthentication)
        #expect(failure(tooLong)?.awsCode(for: .s3) == "AuthorizationQueryParametersError")
        var dup = r
        dup.query = r.query! + "&X-Amz-Date=20260315T120000Z"
        #expect(failure(dup)?.code == .malformedQueryAuthentication)
        var tampered = r
        tampered.path = "/bucket/other"
        #expect(failure(tampered)?.code == .signatureMismatch)
    }

    @Test func signatureComparedAsBytes() {
        // Upper-case hex of the right signature is not what AWS accepts either.
        let r = Self.signed { r in
            let auth = r.firstValue("authorization")!
            let sig = auth.suffix(64)
            r.setHeader("Authorization", auth.dropLast(64) + sig.uppercased())
        }
        #expect(failure(r)?.code == .signatureMismatch)
        let truncated = Self.signed { r in r.setHeader("Authorization", String(r.firstValue("authorization")!.dropLast(2))) }
        #expect(failure(truncated)?.code == .signatureMismatch)
    }

    @Test func errorsNeverCarrySecrets() {
        for code in SigV4Error.Code.allCases {
            for dialect in [SigV4Error.Dialect.s3, .query, .json] {
                let e = SigV4Error(code, "m")
                #expect(!e.awsCode(for: dialect).isEmpty)
                #expect([400, 403].contains(e.httpStatus(for: dialect)))
            }
        }
        #expect(!String(describing: Self.tokenCreds).contains("agent-secret-2"))
        #expect(!String(describing: Self.tokenCreds).contains("tok-123"))
        let e = failure(Self.signed(), body: [])
        #expect(e.map { !String(describing: $0).contains("agent-secret") } == true)
    }
}
