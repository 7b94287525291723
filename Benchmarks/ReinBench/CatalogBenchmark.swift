import Foundation
import ReinCatalog
import ReinSigV4

/// Resident memory of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// Catalog load time and memory, and request → operation → actions →
/// resources for a JSON-protocol and an S3 request.
func runCatalogBenchmark() {
    let rssBefore = residentBytes()
    let clock = ContinuousClock()
    let start = clock.now
    guard let catalog = try? ServiceCatalog.bundled() else { fatalError("cannot load the catalog") }
    let loaded = clock.now - start
    let rssLoaded = residentBytes()
    let warmStart = clock.now
    for name in ["s3", "dynamodb", "sqs", "lambda"] { _ = catalog.service(named: name) }
    let warmed = clock.now - warmStart
    let rssWarm = residentBytes()
    func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15 }
    print("Rein catalog benchmark — botocore \(catalog.header.botocore), \(catalog.header.services) services, \(catalog.header.operations) operations")
    print(String(format: "catalog load (read + index)            %8.1f ms, RSS +%.1f MiB", ms(loaded), Double(rssLoaded - rssBefore) / 1_048_576))
    print(String(format: "first use of s3, dynamodb, sqs, lambda %8.1f ms, RSS +%.1f MiB", ms(warmed), Double(rssWarm - rssLoaded) / 1_048_576))

    let analyzer = RequestAnalyzer(catalog: catalog, accountId: "123456789012")
    let putItem = CatalogRequest(
        SignableRequest(method: "POST", target: "/", headers: [
            HTTPHeader("Host", "dynamodb.us-east-1.amazonaws.com"),
            HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem"),
            HTTPHeader("Content-Type", "application/x-amz-json-1.0"),
        ]),
        body: .bytes(Array(#"{"TableName":"agent-memory","Item":{"pk":{"S":"task#42"},"sk":{"S":"step#7"},"note":{"S":"hello"}}}"#.utf8)),
        scope: CredentialScope(date: "20260101", region: "us-east-1", service: "dynamodb"))
    let getObject = CatalogRequest(
        SignableRequest(method: "GET", target: "/agent-bucket/reports/2026/q1.csv?x-id=GetObject", headers: [
            HTTPHeader("Host", "s3.us-east-1.amazonaws.com"),
        ]),
        body: .notBuffered,
        scope: CredentialScope(date: "20260101", region: "us-east-1", service: "s3"))
    // Many short rounds, best kept: this shared 2-core VM is noisy.
    let iterations = 40_000
    let jsonNs = measure("route + action + resources: DynamoDB PutItem", iterations: iterations, rounds: 25) { blackHole(analyzer.analyze(putItem)) }
    let s3Ns = measure("route + action + resources: S3 GetObject", iterations: iterations, rounds: 25) { blackHole(analyzer.analyze(getObject)) }
    let met = jsonNs <= 5000 && s3Ns <= 5000 && ms(loaded) <= 50 && Double(rssLoaded - rssBefore) <= 20 * 1_048_576
    print(String(format: "RESULT catalog_load_ms=%.1f catalog_load_rss_mib=%.1f json_us=%.2f s3_us=%.2f target_us=5.00 target_load_ms=50 target_mib=20 %@",
                 ms(loaded), Double(rssLoaded - rssBefore) / 1_048_576, jsonNs / 1000, s3Ns / 1000, (met ? "MET" : "NOT MET") as NSString))
}

/// A long loop over one request kind, for `perf record` (REIN_BENCH_PROFILE=s3|json).
func profileCatalog(_ kind: String) {
    guard let catalog = try? ServiceCatalog.bundled() else { return }
    let analyzer = RequestAnalyzer(catalog: catalog, accountId: "123456789012")
    let request = kind == "s3"
        ? CatalogRequest(SignableRequest(method: "GET", target: "/agent-bucket/reports/2026/q1.csv", headers: [HTTPHeader("Host", "s3.us-east-1.amazonaws.com")]),
                         body: .notBuffered, scope: CredentialScope(date: "20260101", region: "us-east-1", service: "s3"))
        : CatalogRequest(SignableRequest(method: "POST", target: "/", headers: [HTTPHeader("Host", "dynamodb.us-east-1.amazonaws.com"), HTTPHeader("X-Amz-Target", "DynamoDB_20120810.PutItem")]),
                         body: .bytes(Array(#"{"TableName":"agent-memory","Item":{"pk":{"S":"task#42"}}}"#.utf8)),
                         scope: CredentialScope(date: "20260101", region: "us-east-1", service: "dynamodb"))
    for _ in 0..<1_000_000 { blackHole(analyzer.analyze(request)) }
}
