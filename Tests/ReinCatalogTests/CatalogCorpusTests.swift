import Foundation
import ReinCrypto
import ReinSigV4
import Testing
@testable import ReinCatalog

/// The recorded corpus (Tests/interop/catalog_corpus): real boto3 requests
/// against moto_server, each with its operation, IAM actions and resource
/// ARNs written by hand. The catalog must match every record.
struct CatalogCorpusTests {
    struct Record: Decodable {
        let id: String
        let service: String
        let botocore_service: String
        let region: String
        let operation: String
        let actions: [String]
        let resources: [String]
        let request: String
    }

    static let projectRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let corpusURL = projectRoot.appendingPathComponent("Tests/interop/catalog_corpus/corpus.jsonl")
    static let credentials = AWSCredentials(accessKeyId: "AKIDCORPUSEXAMPLE01", secretAccessKey: "corpusSecretKeyExample000000000000000000")
    static let catalog: ServiceCatalog = {
        do { return try ServiceCatalog.bundled() } catch { fatalError("\(error)") }
    }()

    static func records() throws -> [Record] {
        let text = String(decoding: try Data(contentsOf: corpusURL), as: UTF8.self)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(Record.self, from: Data($0.utf8)) }
    }

    @Test func corpusCoverage() throws {
        let records = try Self.records()
        #expect(records.count >= 400)
        #expect(Set(records.map(\.botocore_service)).count >= 20)
        let required: Set = ["s3", "s3control", "dynamodb", "lambda", "secretsmanager", "sqs", "sns", "sts", "iam", "kms",
                             "ssm", "ec2", "logs", "cloudwatch", "events", "ecr", "bedrock-runtime", "stepfunctions", "kinesis", "glue"]
        #expect(required.isSubset(of: Set(records.map(\.botocore_service))))
    }

    @Test func catalogMatchesEveryRecord() throws {
        let records = try Self.records()
        let analyzer = RequestAnalyzer(catalog: Self.catalog, accountId: "123456789012")
        let verifier = SigV4Verifier(credentials: StaticCredentialLookup([Self.credentials]))
        var failures: [String] = []
        for record in records {
            guard let bytes = Data(base64Encoded: record.request), let raw = try? RawHTTPRequest.parse(Array(bytes)) else {
                failures.append("\(record.id): unparseable request")
                continue
            }
            // The requests are real: their signatures verify as of their own time.
            let now = raw.request.firstValue("x-amz-date").flatMap(AmzDate.parse) ?? 0
            let body = SHA256.hash(raw.body)
            let verified: VerifiedRequest
            do { verified = try verifier.verify(raw.request, bodyDigest: body, now: now) } catch {
                failures.append("\(record.id): signature does not verify: \(error)")
                continue
            }
            let verdict = analyzer.analyze(CatalogRequest(raw.request, body: .bytes(raw.body), scope: verified.scope))
            guard case .known(let r) = verdict else {
                if case .unknown(let why) = verdict { failures.append("\(record.id) \(record.operation): unknown: \(why)") }
                continue
            }
            var problems: [String] = []
            if r.service != record.botocore_service { problems.append("service \(r.service)") }
            if r.operation != record.operation { problems.append("operation \(r.operation)") }
            if r.actions.sorted() != record.actions.sorted() { problems.append("actions \(r.actions.sorted()) want \(record.actions.sorted())") }
            if r.resources.sorted() != record.resources.sorted() { problems.append("resources \(r.resources.sorted()) want \(record.resources.sorted())") }
            if !problems.isEmpty { failures.append("\(record.id) \(record.operation): " + problems.joined(separator: "; ")) }
        }
        if let report = ProcessInfo.processInfo.environment["REIN_CORPUS_REPORT"] {
            try failures.joined(separator: "\n").write(toFile: report, atomically: true, encoding: .utf8)
        }
        let rate = Double(records.count - failures.count) / Double(max(records.count, 1)) * 100
        #expect(failures.isEmpty, "\(String(format: "%.1f", rate))% match; \(failures.count) mismatches:\n\(failures.prefix(40).joined(separator: "\n"))")
    }
}
