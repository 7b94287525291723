import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// Every case of the aws-c-auth SigV4 suite (`aws-signing-test-suite-v4`):
/// header and presigned forms, canonical request, string to sign and
/// signature, signed by Rein and then verified by Rein.
struct SigningSuiteTests {
    static let root = TestData.sharedTestData.appendingPathComponent("aws-signing-test-suite-v4")
    static let cases = TestData.subdirectories(of: root)

    struct Context: Decodable {
        struct Credentials: Decodable {
            let access_key_id: String
            let secret_access_key: String
            let token: String?
        }
        let credentials: Credentials
        let expiration_in_seconds: Int64
        let normalize: Bool
        let region: String
        let service: String
        let sign_body: Bool
        let timestamp: String
        let omit_session_token: Bool?

        var awsCredentials: AWSCredentials {
            AWSCredentials(accessKeyId: credentials.access_key_id, secretAccessKey: credentials.secret_access_key,
                           sessionToken: credentials.token)
        }
        var time: Int64 { AmzDate.parseISO8601(timestamp)! }
    }

    static func load(_ name: String) throws -> (Context, RawHTTPRequest, URL) {
        let dir = root.appendingPathComponent(name)
        let context = try JSONDecoder().decode(Context.self, from: Data(contentsOf: dir.appendingPathComponent("context.json")))
        let raw = try RawHTTPRequest.parse(TestData.bytes(dir.appendingPathComponent("request.txt")))
        return (context, raw, dir)
    }

    @Test func suiteIsPresent() {
        #expect(Self.cases.count >= 38, "expected the full SigV4 suite under \(Self.root.path)")
    }

    @Test(arguments: cases)
    func headerSigning(_ name: String) throws {
        let (ctx, raw, dir) = try Self.load(name)
        var request = raw.request
        let bodyHash = SHA256.hash(raw.body).hex
        if ctx.sign_body { request.setHeader("X-Amz-Content-SHA256", bodyHash) }
        let out = SigV4Signer().sign(
            &request, credentials: ctx.awsCredentials, region: ctx.region, service: ctx.service, time: ctx.time,
            payloadHash: bodyHash, normalizePath: ctx.normalize, omitSessionToken: ctx.omit_session_token ?? false)
        #expect(out.canonicalRequest.text == (try TestData.text(dir.appendingPathComponent("header-canonical-request.txt"))))
        #expect(out.stringToSign == (try TestData.text(dir.appendingPathComponent("header-string-to-sign.txt"))))
        #expect(out.signature == (try TestData.text(dir.appendingPathComponent("header-signature.txt"))).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test(arguments: cases)
    func querySigning(_ name: String) throws {
        let (ctx, raw, dir) = try Self.load(name)
        // sign_body adds x-amz-content-sha256 in the header form only; the
        // presigned form signs the body hash without the header.
        var request = raw.request
        let bodyHash = SHA256.hash(raw.body).hex
        let out = SigV4Signer().presign(
            &request, credentials: ctx.awsCredentials, region: ctx.region, service: ctx.service, time: ctx.time,
            expires: ctx.expiration_in_seconds, payloadHash: bodyHash, normalizePath: ctx.normalize,
            omitSessionToken: ctx.omit_session_token ?? false)
        #expect(out.canonicalRequest.text == (try TestData.text(dir.appendingPathComponent("query-canonical-request.txt"))))
        #expect(out.stringToSign == (try TestData.text(dir.appendingPathComponent("query-string-to-sign.txt"))))
        #expect(out.signature == (try TestData.text(dir.appendingPathComponent("query-signature.txt"))).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The suite's signed requests verify; a token added after signing is an
    /// unsigned x-amz-* header, which Rein (like S3) refuses.
    @Test(arguments: cases)
    func verifiesSignedRequests(_ name: String) throws {
        let (ctx, _, dir) = try Self.load(name)
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([ctx.awsCredentials]))
        for form in ["header", "query"] {
            let signed = try RawHTTPRequest.parse(TestData.bytes(dir.appendingPathComponent("\(form)-signed-request.txt")))
            let analysis = verifier.analyze(signed.request, bodyDigest: SHA256.hash(signed.body), now: ctx.time + 60,
                                            normalizePath: ctx.normalize)
            if ctx.omit_session_token == true {
                guard case .failure(let error) = analysis.outcome else {
                    Issue.record("\(name) \(form): a token added after signing must be rejected")
                    continue
                }
                #expect(error.code == (form == "header" ? .unsignedHeader : .signatureMismatch), "\(name) \(form): \(error)")
                continue
            }
            switch analysis.outcome {
            case .success(let verified):
                #expect(verified.authorization.form.rawValue == form)
                #expect(verified.scope.region == ctx.region && verified.scope.service == ctx.service)
            case .failure(let error):
                Issue.record("\(name) \(form) should verify: \(error)\n\(analysis.canonicalRequest?.text ?? "")")
            }
        }
    }

    /// Presigned requests stop verifying once X-Amz-Expires has passed.
    @Test func presignedRequestExpires() throws {
        let (ctx, _, dir) = try Self.load("get-vanilla")
        let signed = try RawHTTPRequest.parse(TestData.bytes(dir.appendingPathComponent("query-signed-request.txt")))
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([ctx.awsCredentials]))
        #expect(throws: SigV4Error.self) {
            try verifier.verify(signed.request, bodyDigest: SHA256.hash(signed.body), now: ctx.time + ctx.expiration_in_seconds + 1)
        }
        let error = try #require(verifier.analyze(signed.request, bodyDigest: SHA256.hash(signed.body),
                                                  now: ctx.time + 3601).outcome.failureValue)
        #expect(error.code == .presignExpired)
        #expect(error.awsCode(for: .s3) == "AccessDenied")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
