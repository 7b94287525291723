import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// Every case of botocore's copy of the older `aws4_testsuite`, including
/// the repeated-key and raw-space cases botocore itself skips.
struct LegacySuiteTests {
    static let root = TestData.sharedTestData.appendingPathComponent("aws4_testsuite")
    static let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    /// Case directories, as paths relative to the suite root (some are nested).
    static let cases: [String] = {
        var found: [String] = []
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root.path) else { return [] }
        while let path = walker.nextObject() as? String {
            if path.hasSuffix(".req") { found.append((path as NSString).deletingPathExtension) }
        }
        return found.sorted()
    }()

    static func file(_ base: String, _ ext: String) throws -> String {
        try TestData.text(root.appendingPathComponent(base + "." + ext))
    }

    /// The suite's token is the one in the case's canonical request, if any
    /// (post-sts-header-after signs without it, so it uses the README's value).
    static func credentials(_ base: String) -> AWSCredentials {
        let creq = (try? file(base, "creq")) ?? ""
        let line = creq.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
        let caseToken = line.map { String($0.dropFirst("x-amz-security-token:".count)) }
            ?? (base.contains("post-sts-token") ? token : nil)
        return AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: TestData.exampleCredentials.secretAccessKey,
                              sessionToken: caseToken)
    }

    @Test func suiteIsPresent() {
        #expect(Self.cases.count >= 30)
    }

    @Test(arguments: cases)
    func signs(_ base: String) throws {
        let raw = try RawHTTPRequest.parse(TestData.bytes(Self.root.appendingPathComponent(base + ".req")))
        var request = raw.request
        let out = SigV4Signer().sign(
            &request, credentials: Self.credentials(base), region: "us-east-1", service: "service",
            time: TestData.suiteTime, payloadHash: SHA256.hash(raw.body).hex,
            omitSessionToken: base.hasSuffix("post-sts-header-after"))
        #expect(out.canonicalRequest.text == (try Self.file(base, "creq")))
        #expect(out.stringToSign == (try Self.file(base, "sts")))
        #expect(request.firstValue("authorization") == (try Self.file(base, "authz")))
    }

    @Test(arguments: cases)
    func verifies(_ base: String) throws {
        var signed = try RawHTTPRequest.parse(TestData.bytes(Self.root.appendingPathComponent(base + ".sreq")))
        // The .authz file is authoritative: get-vanilla-with-session-token.sreq
        // carries get-vanilla's signature by mistake, while its .authz is right.
        signed.request.setHeader("Authorization", try Self.file(base, "authz"))
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([Self.credentials(base)]))
        let outcome = verifier.analyze(signed.request, bodyDigest: SHA256.hash(signed.body), now: TestData.suiteTime).outcome
        if base.hasSuffix("post-sts-header-after") {
            #expect(outcome.failureValue?.code == .unsignedHeader)
        } else {
            #expect(outcome.failureValue == nil, "\(base): \(String(describing: outcome.failureValue))")
        }
    }
}
