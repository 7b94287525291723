import Foundation
import ReinCrypto
import ReinSigV4


@inline(never)
func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

func measure(_ name: String, iterations: Int, rounds: Int = 5, _ body: () -> Void) -> Double {
    for _ in 0..<min(1000, iterations / 10) { body() } // warm-up
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = clock.now
        for _ in 0..<iterations { body() }
        let elapsed = clock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        best = min(best, ns / Double(iterations))
    }
    print(String(format: "%-46@ %10.2f µs/op  (best of %d × %d)", name as NSString, best / 1000, rounds, iterations))
    return best
}

/// verify + re-sign of a typical 1 KB DynamoDB PutItem, and SHA-256 throughput.
func runSigV4Benchmark() {
    let agent = AWSCredentials(accessKeyId: "ASIAAGENTEXAMPLE0001", secretAccessKey: "agentSecretKeyExample0000000000000000000",
                               sessionToken: String(repeating: "T", count: 400))
    let broker = AWSCredentials(accessKeyId: "ASIABROKEREXAMPLE001", secretAccessKey: "brokerSecretKeyExample000000000000000000",
                                sessionToken: String(repeating: "B", count: 600))
    let now: Int64 = 1_780_000_000

    // A typical boto3 DynamoDB PutItem with a ~1 KB body.
    var item = #"{"TableName":"agent-memory","Item":{"pk":{"S":"task#42"},"sk":{"S":"step#0007"},"payload":{"S":""#
    item += String(repeating: "x", count: 1024 - item.utf8.count - 5) + #""}}}"#
    let body = Array(item.utf8)
    var request = SignableRequest(method: "POST", target: "/", headers: [
        HTTPHeader("Host", "dynamodb.us-east-1.amazonaws.com"),
        HTTPHeader("Accept-Encoding", "identity"),
        HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem"),
        HTTPHeader("Content-Type", "application/x-amz-json-1.0"),
        HTTPHeader("User-Agent", "Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.1 md/arch#x86_64 lang/python#3.11.7"),
        HTTPHeader("amz-sdk-invocation-id", "2b6f1f4e-2d0c-4c43-9a2f-0d6f4a7b9c11"),
        HTTPHeader("amz-sdk-request", "attempt=1; max=3"),
        HTTPHeader("Content-Length", String(body.count)),
    ])
    let signer = SigV4Signer()
    signer.sign(&request, credentials: agent, region: "us-east-1", service: "dynamodb", time: now,
                payloadHash: SHA256.hash(body).hex)
    let verifier = SigV4Verifier(credentials: StaticCredentialLookup([agent]))
    let brokerSigner = SigV4Signer()

    guard let once = try? verifier.verify(request, bodyDigest: SHA256.hash(body), now: now) else {
        fatalError("benchmark request does not verify")
    }
    _ = brokerSigner.resign(request, verified: once, broker: broker, time: now)

    print("Rein SigV4 benchmark — \(CryptoLibrary.versionText), body \(body.count) bytes, warm key caches")
    let iterations = 40_000
    let hashNs = measure("SHA-256 of the 1 KB body", iterations: iterations, rounds: 25) { blackHole(SHA256.hash(body)) }
    let verifyNs = measure("verify (incl. body hash)", iterations: iterations, rounds: 25) {
        blackHole(try? verifier.verify(request, bodyDigest: SHA256.hash(body), now: now))
    }
    let resignNs = measure("re-sign with broker credentials", iterations: iterations, rounds: 25) {
        blackHole(brokerSigner.resign(request, verified: once, broker: broker, time: now))
    }
    let totalNs = measure("verify + re-sign (the sidecar's SigV4 work)", iterations: iterations, rounds: 25) {
        if let v = try? verifier.verify(request, bodyDigest: SHA256.hash(body), now: now) {
            blackHole(brokerSigner.resign(request, verified: v, broker: broker, time: now))
        }
    }
    print(String(format: "RESULT verify+resign_us=%.2f verify_us=%.2f resign_us=%.2f body_hash_us=%.2f target_us=5.00 %@",
                 totalNs / 1000, verifyNs / 1000, resignNs / 1000, hashNs / 1000,
                 (totalNs <= 5000 ? "MET" : "NOT MET") as NSString))

    // Payload hashing throughput, for comparison with `openssl speed -evp sha256`.
    for size in [16 * 1024, 1024 * 1024] {
        let buffer = [UInt8](repeating: 0x5A, count: size)
        let hasher = SHA256Hasher()
        let reps = max(8, (256 * 1024 * 1024) / size)
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<reps { hasher.update(buffer) }
        blackHole(hasher.finalize())
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "RESULT sha256_stream_%dKiB_MBps=%.0f", size / 1024, Double(reps * size) / seconds / 1e6))
    }

    if ProcessInfo.processInfo.environment["REIN_BENCH_DETAIL"] != nil {
        print("— component detail —")
        _ = measure("parse Authorization", iterations: iterations) { blackHole(try? SigV4Authorization.parse(request)) }
        let auth = try! SigV4Authorization.parse(request)
        _ = measure("canonical request", iterations: iterations) {
            blackHole(CanonicalRequest(request: request, signedHeaders: auth.signedHeaders, payloadHash: SHA256.emptyHex, normalizePath: true))
        }
        let canonical = CanonicalRequest(request: request, signedHeaders: auth.signedHeaders, payloadHash: SHA256.emptyHex, normalizePath: true)
        _ = measure("string to sign (incl. SHA-256)", iterations: iterations) {
            blackHole(SigV4Verifier.stringToSign(amzDate: "20260101T000000Z", scope: auth.scope, canonical: canonical))
        }
        let cache = SigningKeyCache()
        _ = measure("signing key cache hit", iterations: iterations) { blackHole(cache.signingKey(for: agent, scope: auth.scope)) }
        let key = cache.signingKey(for: agent, scope: auth.scope)
        _ = measure("HMAC with prepared key", iterations: iterations) { blackHole(key.mac("AWS4-HMAC-SHA256\n20260101T000000Z\n20260101/us-east-1/dynamodb/aws4_request\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")) }
        _ = measure("digest hex", iterations: iterations) { blackHole(SHA256.hash(body).hex) }
        _ = measure("AmzDate.format", iterations: iterations) { blackHole(AmzDate.format(now)) }
        _ = measure("request copy + setHeader", iterations: iterations) { var r = request; r.setHeader("X-Amz-Date", "x"); blackHole(r) }
    }
}
