import Foundation
import ReinSigV4
import Testing
@testable import ReinCatalog

/// No request can make the router crash or hang: random mutations of the
/// recorded corpus requests (heads and bodies) always end in a verdict.
struct CatalogRobustnessTests {
    struct Mix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let interesting = Array("/?&=%.#:{}[]\",\\ \t\r\n<>".utf8) + [0x00, 0xFF, 0xC3]

    @Test func randomMutationsAlwaysGiveAVerdict() throws {
        let records = try CatalogCorpusTests.records()
        let analyzer = RequestAnalyzer(catalog: CatalogCorpusTests.catalog, accountId: "123456789012")
        var rng = Mix(state: 2026)
        var known = 0, unknown = 0
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<6000 {
            guard let record = records.randomElement(using: &rng), var bytes = Data(base64Encoded: record.request).map(Array.init) else { continue }
            for _ in 0..<Int.random(in: 1...6, using: &rng) where !bytes.isEmpty {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[i] = Self.interesting.randomElement(using: &rng)!
                case 2: bytes.remove(at: i)
                default: bytes.insert(Self.interesting.randomElement(using: &rng)!, at: i)
                }
            }
            guard let raw = try? RawHTTPRequest.parse(bytes), let auth = try? SigV4Authorization.parse(raw.request) else { continue }
            switch analyzer.analyze(CatalogRequest(raw.request, body: .bytes(raw.body), scope: auth.scope)) {
            case .known: known += 1
            case .unknown: unknown += 1
            }
        }
        #expect(known + unknown > 3000)
        #expect(unknown > 100, "mutations must drive many requests to unknown")
        #expect(clock.now - start < .seconds(120), "no input may make analysis slow")
    }

    @Test func deeplyNestedAndHugeBodiesAreBounded() {
        let analyzer = RequestAnalyzer(catalog: CatalogCorpusTests.catalog, accountId: "123456789012")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let head = SignableRequest(method: "POST", target: "/", headers: [HTTPHeader("Host", "127.0.0.1"),
                                                                          HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem")])
        let verdict = analyzer.analyze(CatalogRequest(head, body: .bytes(Array(("{\"TableName\":" + deep + "}").utf8)),
                                                      scope: CredentialScope(date: "20260101", region: "us-east-1", service: "dynamodb")))
        guard case .unknown(let why) = verdict else {
            Issue.record("a 100,000-deep body must be unknown")
            return
        }
        #expect(why.kind == .malformedBody)
    }

    @Test func bodyIsNeededOnlyWhenResourcesLiveThere() {
        let analyzer = RequestAnalyzer(catalog: CatalogCorpusTests.catalog, accountId: "123456789012")
        func request(_ method: String, _ target: String, _ service: String, _ headers: [(String, String)] = []) -> CatalogRequest {
            CatalogRequest(SignableRequest(method: method, target: target, headers: [HTTPHeader("Host", "127.0.0.1")] + headers.map { HTTPHeader($0.0, $0.1) }),
                           body: .notBuffered, scope: CredentialScope(date: "20260101", region: "us-east-1", service: service))
        }
        #expect(!analyzer.needsBody(request("PUT", "/bucket/big-object.bin", "s3")))
        #expect(!analyzer.needsBody(request("GET", "/bucket/key", "s3")))
        #expect(analyzer.needsBody(request("POST", "/bucket?delete", "s3")))
        #expect(analyzer.needsBody(request("POST", "/", "dynamodb", [("X-Amz-Target", "DynamoDB_20120810.PutItem")])))
        #expect(analyzer.needsBody(request("POST", "/", "sts", [("Content-Type", "application/x-www-form-urlencoded")])))
    }
}
