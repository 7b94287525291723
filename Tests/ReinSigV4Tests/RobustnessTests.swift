import Foundation
import ReinCrypto
import Testing
@testable import ReinSigV4

/// Hostile input never crashes or hangs the parsers: random byte mutations
/// of real signed requests and aws-chunked bodies either verify (only when
/// nothing that matters changed) or fail with a typed error.
struct RobustnessTests {
    /// A small deterministic generator, so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let interesting: [UInt8] = Array(" \t\r\n:;,=/%?&#\0\u{7f}".utf8) + [0xFF, 0xC3, 0x80]

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            let i = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[i] = interesting.randomElement(using: &rng)!
            case 2: bytes.remove(at: i)
            default: bytes.insert(interesting.randomElement(using: &rng)!, at: i)
            }
        }
        return bytes
    }

    @Test func mutatedSignedRequestsNeverCrash() throws {
        let root = TestData.sharedTestData.appendingPathComponent("aws-signing-test-suite-v4")
        var seeds: [[UInt8]] = []
        for name in TestData.subdirectories(of: root) {
            for form in ["header", "query"] {
                seeds.append(try TestData.bytes(root.appendingPathComponent(name).appendingPathComponent("\(form)-signed-request.txt")))
            }
        }
        try #require(!seeds.isEmpty, "no signed requests under \(root.path): the shared SigV4 test suite must sit beside the project")
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([TestData.exampleCredentials]))
        var rng = SplitMix(state: 42)
        var parsed = 0, rejected = 0
        for _ in 0..<20_000 {
            let input = Self.mutate(seeds.randomElement(using: &rng)!, &rng)
            guard let raw = try? RawHTTPRequest.parse(input) else { continue }
            parsed += 1
            if case .failure = verifier.analyze(raw.request, bodyDigest: SHA256.hash(raw.body), now: TestData.suiteTime).outcome {
                rejected += 1
            }
        }
        #expect(parsed > 10_000)
        #expect(rejected > parsed / 2, "most random mutations of signed requests must be rejected")
    }

    @Test func mutatedChunkedBodiesNeverCrash() {
        let creds = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s")
        let scope = CredentialScope(date: "20260101", region: "us-east-1", service: "s3")
        let key = SigningKeyCache().signingKey(for: creds, scope: scope)
        func chain() -> ChunkSignatureChain {
            ChunkSignatureChain(signingKey: key, amzDate: "20260101T000000Z", scope: scope, seedSignature: String(repeating: "0", count: 64))
        }
        var encoder = ChunkedEncoder(mode: .streamingSignedTrailer, chain: chain())
        let body = encoder.encodeChunk(Array("hello".utf8)) + encoder.encodeChunk([UInt8](repeating: 7, count: 300))
            + encoder.encodeFinal(trailers: [HTTPHeader("x-amz-checksum-crc32", "AAAAAA==")])
        var rng = SplitMix(state: 7)
        var accepted = 0
        for _ in 0..<20_000 {
            let input = Self.mutate(body, &rng)
            var decoder = ChunkedDecoder(mode: .streamingSignedTrailer, chain: chain(),
                                         declaredTrailers: ["x-amz-checksum-crc32"], decodedLength: 305, maxChunkSize: 1024)
            if (try? decoder.feed(input)) != nil, (try? decoder.finish()) != nil { accepted += 1 }
        }
        // A mutation can only be accepted if it left the signed content intact
        // (e.g. a changed hex digit case); anything else must be refused.
        #expect(accepted < 50)
    }
}
