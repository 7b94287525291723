import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// The differential test against botocore: `Tests/interop/sigv4_corpus.py`
/// signs 2,000 random requests with botocore's own signers (unicode and
/// reserved characters, repeated query keys, odd header spacing, session
/// tokens, presigned and header forms, many services and regions). Rein must
/// verify every one with botocore's exact canonical request, string to sign
/// and signature, reproduce the signature when signing the same request
/// itself, and reject each record's mutated copy.
struct DifferentialTests {
    struct Record: Decodable {
        let id: String
        let form: String
        let service: String
        let region: String
        let time: String
        let expires: Int64?
        let access_key_id: String
        let secret_access_key: String
        let session_token: String?
        let request: String
        let canonical_request: String
        let string_to_sign: String
        let signature: String
        let mutated: String
        let mutation: String
    }

    static let count = 2000

    /// Runs the generator (botocore must be installed: `.ci/run` installs it
    /// from Tests/requirements.txt) and loads its records.
    static func corpus() throws -> [Record] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rein-sigv4-corpus-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestData.projectRoot.appendingPathComponent("Tests/interop/sigv4_corpus.py").path,
                             "--count", String(count), "--seed", "20261129", "--out", out.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CorpusError(message: "sigv4_corpus.py exited \(process.terminationStatus); is botocore installed (pip install -r Tests/requirements.txt)?")
        }
        let decoder = JSONDecoder()
        return try String(decoding: Data(contentsOf: out), as: UTF8.self)
            .split(separator: "\n").map { try decoder.decode(Record.self, from: Data($0.utf8)) }
    }

    struct CorpusError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    @Test func botocoreCorpusVerifiesReproducesAndRejectsMutations() throws {
        let records = try Self.corpus()
        #expect(records.count == Self.count)
        var failures: [String] = []
        var forms: [String: Int] = [:]
        var services = Set<String>()
        for record in records {
            forms[record.form, default: 0] += 1
            services.insert(record.service)
            if let problem = check(record) { failures.append("\(record.id): \(problem)") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(records.count) failed; first: \(failures.prefix(3).joined(separator: "\n"))")
        #expect((forms["header"] ?? 0) > 500 && (forms["query"] ?? 0) > 500)
        #expect(services.count >= 8)
    }

    func check(_ r: Record) -> String? {
        guard let bytes = Data(base64Encoded: r.request), let mutatedBytes = Data(base64Encoded: r.mutated),
              let time = AmzDate.parse(r.time) else { return "undecodable record" }
        let creds = AWSCredentials(accessKeyId: r.access_key_id, secretAccessKey: r.secret_access_key, sessionToken: r.session_token)
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([creds]))
        let raw: RawHTTPRequest
        do { raw = try RawHTTPRequest.parse(Array(bytes)) } catch { return "parse: \(error)" }

        // 1. Verify, with botocore's exact intermediates.
        let verified: VerifiedRequest
        do {
            verified = try verifier.verify(raw.request, bodyDigest: SHA256.hash(raw.body), now: time + 5)
        } catch {
            let a = verifier.analyze(raw.request, bodyDigest: SHA256.hash(raw.body), now: time + 5)
            return "does not verify: \(error)\n--- rein\n\(a.canonicalRequest?.text ?? "")\n--- botocore\n\(r.canonical_request)"
        }
        guard verified.canonicalRequest.text == r.canonical_request else {
            return "canonical request differs:\n\(verified.canonicalRequest.text)\n---\n\(r.canonical_request)"
        }
        guard verified.stringToSign == r.string_to_sign else { return "string to sign differs" }

        // 2. Reproduce the signature by signing the same request with Rein's signer.
        var request = raw.request
        let bodyHash = SHA256.hash(raw.body).hex
        let signature: String
        if r.form == "header" {
            let out = SigV4Signer().sign(&request, credentials: creds, region: r.region, service: r.service, time: time,
                                         payloadHash: bodyHash, headers: .only(verified.signedHeaders))
            signature = out.signature
            guard request.firstValue("authorization") == raw.request.firstValue("authorization") else {
                return "Authorization header differs: \(request.firstValue("authorization") ?? "")"
            }
        } else {
            request.query = SigV4Signer.removingQueryAuth(request.query)
            let payload = verified.scope.usesS3PathRules ? PayloadMode.unsignedPayload : bodyHash
            signature = SigV4Signer().presign(&request, credentials: creds, region: r.region, service: r.service,
                                              time: time, expires: r.expires ?? 0, payloadHash: payload,
                                              headers: .only(verified.signedHeaders)).signature
        }
        guard signature == r.signature else { return "re-signing gave \(signature), botocore \(r.signature)" }

        // 3. The mutated copy must not verify.
        guard let mutated = try? RawHTTPRequest.parse(Array(mutatedBytes)) else { return nil } // unparseable is rejected too
        // As the sidecar does: a declared x-amz-content-sha256 must match the body.
        if case .success(let v) = verifier.analyze(mutated.request, bodyDigest: SHA256.hash(mutated.body), now: time + 5).outcome {
            if case .declaredHash(let declared) = v.payloadMode, SHA256.hash(mutated.body).hex != declared.lowercased() {
                return nil
            }
            return "mutated copy (\(r.mutation)) verified"
        }
        return nil
    }
}
