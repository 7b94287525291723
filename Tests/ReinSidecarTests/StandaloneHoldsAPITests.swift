import Foundation
import Logging
import NIOHTTP1
import ReinCrypto
import ReinHolds
import Testing
@testable import ReinSidecar
@testable import ReinStore

/// The standalone sidecar's holds API passes the API's answers through,
/// headers included: a full disk is a 503 that says when to come back.
struct StandaloneHoldsAPITests {
    static let token = "tok-approver-standalone-0123456789"

    static func newHold(_ n: Int) -> NewHold {
        NewHold(key: String(format: "%064x", n), sidecarId: "sc-1", agentId: "agent-a", taskId: "task-1", accessKeyId: "ASIAREIN",
                service: "s3", region: "us-east-1", operation: "DeleteObject",
                grants: [HoldGrantItem(action: "s3:DeleteObject", resources: ["arn:aws:s3:::bucket/key-\(n)"])],
                summary: HoldSummary(method: "DELETE", host: "bucket.s3.amazonaws.com", path: "/key-\(n)", queryKeys: [],
                                     contentLength: nil, userAgent: "boto3", sourceAddress: "127.0.0.1"),
                statementId: "HoldDeletes", reasonHeld: "statement HoldDeletes requires a person")
    }

    @Test func aFullDiskUnderTheHoldsDatabaseIsA503WithRetryAfter() async throws {
        let dir = NSTemporaryDirectory() + "rein-standalone-holds-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = HoldSettings()
        let ledger = try SQLiteHoldLedger(path: dir + "/holds.sqlite", settings: settings)
        defer { ledger.close() }
        var ids: [String] = []
        for n in 0..<100 { ids.append(try await ledger.register(Self.newHold(n)).id) }
        let book = HoldTokenBook([.init(name: "alice", roles: [.approver], sha256: SHA256.hash(Self.token).hex)])
        let api = StandaloneHoldsAPI(api: HoldAPI(ledger: ledger, settings: settings), tokens: book, logger: Logger(label: "test.holds"))
        try ledger.capSizeForTesting(true)

        var refused: SimpleHTTPHandler.Response?
        for id in ids {
            var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/holds/\(id)/approve")
            head.headers.add(name: "Authorization", value: "Bearer \(Self.token)")
            let answer = try #require(await api.respond(head, body: Array(#"{"reason":"checked"}"#.utf8)))
            if answer.status != .ok {
                refused = answer
                break
            }
        }
        let answer = try #require(refused, "the capped holds database never refused an approval")
        #expect(answer.status == .serviceUnavailable)
        #expect(answer.extraHeaders.contains { $0.0 == "Retry-After" && $0.1 == "30" })
        #expect(String(decoding: answer.body, as: UTF8.self).contains("InsufficientStorage"))
    }
}
