import Foundation
import Logging
import ReinAudit
import Testing
@testable import ReinStore

/// Every filter of `GET /v1/audit/records`, paging, and retention. Filter
/// tests run twice: as a tail (every row checked) and with the indexes and
/// zone map (`tailSpan` 0), which must find the same records.
@Suite struct CollectorQueryTests {
    /// Two sidecars of two agents; records vary by task, decision, event, action, resource and time.
    func populate(tailSpan: Int64 = 20_000) throws -> CollectorStoreFixture {
        let f = try CollectorStoreFixture(tailSpan: tailSpan)
        var a = try TestChain(sidecarId: "sc-a", agentId: "agent-a")
        var b = try TestChain(sidecarId: "sc-b", agentId: "agent-b")
        var linesA: [[UInt8]] = []
        for i in 1...20 {
            linesA.append(try a.seal { r in
                r.time = RFC3339Time.string(milliseconds: 1_772_323_200_000 + Int64(i) * 3_600_000) // hourly from 2026-03-01
                r.taskId = i <= 10 ? "task-1" : "task-2"
                r.decision = i % 5 == 0 ? "deny" : "allow"
                r.grants = i % 4 == 0
                    ? [.init(action: "dynamodb:PutItem", resources: ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"])]
                    : [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::reports-bucket-with-a-long-name/2026/\(i).csv"])]
            })
        }
        var linesB: [[UInt8]] = []
        for i in 1...5 {
            linesB.append(try b.seal { r in
                r.time = RFC3339Time.string(milliseconds: 1_772_409_600_000 + Int64(i) * 60_000) // 2026-03-02
                r.event = i == 3 ? "hold-approved" : "call"
                r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::other/\(i)"]),
                            .init(action: "s3:PutObject", resources: ["arn:aws:s3:::other/copy-\(i)"])]
            })
        }
        _ = try f.store.ingest(lines: linesA, sidecarId: "sc-a", at: 1_000)
        _ = try f.store.ingest(lines: linesB, sidecarId: "sc-b", at: 2_000)
        return f
    }

    func sequences(_ f: CollectorStoreFixture, _ q: RecordQuery) throws -> [String] {
        try f.store.allRecords(q).map { "\($0.sidecarId)#\($0.sequence)" }
    }

    @Test(arguments: [20_000, 0] as [Int64])
    func filtersBySidecarAgentAndTask(tailSpan: Int64) throws {
        let f = try populate(tailSpan: tailSpan)
        #expect(try f.store.allRecords(RecordQuery(sidecarId: "sc-b")).count == 5)
        #expect(try f.store.allRecords(RecordQuery(agentId: "agent-a")).count == 20)
        #expect(try sequences(f, RecordQuery(taskId: "task-2")) == (11...20).map { "sc-a#\($0)" })
        #expect(try sequences(f, RecordQuery(agentId: "agent-a", taskId: "task-1", decision: "deny")) == ["sc-a#5", "sc-a#10"])
        #expect(try f.store.allRecords(RecordQuery(agentId: "nobody")).isEmpty)
    }

    @Test(arguments: [20_000, 0] as [Int64])
    func filtersByDecisionAndEvent(tailSpan: Int64) throws {
        let f = try populate(tailSpan: tailSpan)
        #expect(try sequences(f, RecordQuery(decision: "deny")) == ["sc-a#5", "sc-a#10", "sc-a#15", "sc-a#20"])
        #expect(try f.store.allRecords(RecordQuery(decision: "allow")).count == 21)
        #expect(try sequences(f, RecordQuery(event: "hold-approved")) == ["sc-b#3"])
        #expect(try f.store.allRecords(RecordQuery(event: "call")).count == 24)
    }

    @Test(arguments: [20_000, 0] as [Int64])
    func filtersByActionAndResourcePrefix(tailSpan: Int64) throws {
        let f = try populate(tailSpan: tailSpan)
        #expect(try sequences(f, RecordQuery(action: "dynamodb:PutItem")) == ["sc-a#4", "sc-a#8", "sc-a#12", "sc-a#16", "sc-a#20"])
        #expect(try f.store.allRecords(RecordQuery(action: "s3:PutObject")).count == 5)
        // Shorter than the indexed head, and longer than it.
        #expect(try f.store.allRecords(RecordQuery(resourcePrefix: "arn:aws:s3:::")).count == 20)
        #expect(try sequences(f, RecordQuery(resourcePrefix: "arn:aws:s3:::reports-bucket-with-a-long-name/2026/1"))
            == ["sc-a#1", "sc-a#10", "sc-a#11", "sc-a#13", "sc-a#14", "sc-a#15", "sc-a#17", "sc-a#18", "sc-a#19"])
        #expect(try sequences(f, RecordQuery(resourcePrefix: "arn:aws:s3:::other/copy-4")) == ["sc-b#4"])
        #expect(try f.store.allRecords(RecordQuery(resourcePrefix: "arn:aws:dynamodb:eu-west-1:123456789012:table/orders")).count == 5)
        #expect(try f.store.allRecords(RecordQuery(resourcePrefix: "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-x")).isEmpty)
        #expect(try f.store.allRecords(RecordQuery(action: "s3:GetObject", resourcePrefix: "arn:aws:s3:::other/")).count == 5)
    }

    @Test(arguments: [20_000, 0] as [Int64])
    func filtersByTime(tailSpan: Int64) throws {
        let f = try populate(tailSpan: tailSpan)
        let day1 = Int64(1_772_323_200_000)
        // since inclusive, until exclusive.
        #expect(try sequences(f, RecordQuery(since: day1 + 3 * 3_600_000, until: day1 + 6 * 3_600_000)) == ["sc-a#3", "sc-a#4", "sc-a#5"])
        #expect(try f.store.allRecords(RecordQuery(agentId: "agent-b", since: day1 + 86_400_000, until: day1 + 2 * 86_400_000)).count == 5)
        #expect(try f.store.allRecords(RecordQuery(agentId: "agent-a", since: day1 + 86_400_000)).isEmpty)
    }

    @Test(arguments: [20_000, 0] as [Int64])
    func pagesFollowTheCursorWithoutGapsOrRepeats(tailSpan: Int64) throws {
        let f = try populate(tailSpan: tailSpan)
        var q = RecordQuery(limit: 7)
        var seen: [String] = []
        var pages = 0
        while true {
            let page = try f.store.records(q)
            if page.records.isEmpty { break }
            pages += 1
            #expect(page.records.count <= 7)
            seen += try page.records.map { r in
                let rec = try JSONDecoder().decode(AuditRecord.self, from: Data(r.line))
                return "\(rec.sidecarId)#\(rec.sequence)"
            }
            #expect(page.nextCursor > q.after)
            q.after = page.nextCursor
        }
        #expect(pages == 4)
        #expect(seen.count == 25)
        #expect(Set(seen).count == 25)
        // A short page moves the cursor past records the filters excluded.
        let filtered = try f.store.records(RecordQuery(sidecarId: "sc-a"))
        #expect(filtered.nextCursor == (try f.store.latestCursor()))
    }

    /// Across several zone-map blocks, the zone map and indexes find exactly
    /// what a scan of every record finds.
    @Test func indexedPlansFindWhatAFullScanFinds() throws {
        let f = try CollectorStoreFixture(tailSpan: 0)
        var a = try TestChain(sidecarId: "sc-a", agentId: "agent-a")
        var b = try TestChain(sidecarId: "sc-b", agentId: "agent-b")
        let start: Int64 = 1_772_323_200_000
        for batch in 0..<4 {
            for (chain, sidecar) in [(0, "sc-a"), (1, "sc-b")] {
                var lines: [[UInt8]] = []
                for k in 0..<700 {
                    let n = batch * 700 + k
                    let edit: (inout AuditRecord) -> Void = { r in
                        r.time = RFC3339Time.string(milliseconds: start + Int64(n) * 60_000 + Int64(chain) * 30_000)
                        r.taskId = "task-\(n / 500)"
                        r.decision = n % 97 == 0 ? "deny" : "allow"
                        r.grants = n % 333 == 0
                            ? [.init(action: "iam:PassRole", resources: ["arn:aws:iam::123456789012:role/r\(n % 2)"])]
                            : [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::bucket-\(n % 3)/p/\(n)"])]
                    }
                    lines.append(chain == 0 ? try a.seal(edit) : try b.seal(edit))
                }
                _ = try f.store.ingest(lines: lines, sidecarId: sidecar)
            }
        }
        let day: Int64 = 86_400_000
        let queries: [RecordQuery] = [
            RecordQuery(since: start + 300 * 60_000, until: start + 1700 * 60_000),
            RecordQuery(action: "iam:PassRole"),
            RecordQuery(action: "iam:PassRole", since: start + day / 2),
            RecordQuery(resourcePrefix: "arn:aws:iam::123456789012:role/r1"),
            RecordQuery(resourcePrefix: "arn:aws:s3:::bucket-2/p/12"),
            RecordQuery(sidecarId: "sc-b", decision: "deny", since: start + 1000 * 60_000),
            RecordQuery(agentId: "agent-a", since: start + 100 * 60_000, until: start + 900 * 60_000),
            RecordQuery(taskId: "task-3", action: "s3:GetObject", decision: "allow"),
            RecordQuery(decision: "deny"),
            RecordQuery(until: start + 10 * 60_000),
        ]
        let indexed = try queries.map { try f.store.allRecords($0).map(\.recordId) }
        // The zone map spans several blocks.
        #expect(try f.store.latestCursor() > 4 * SQLiteCollectorStore.blockSize)
        f.store.close() // one store per database at a time
        let scan = try SQLiteCollectorStore(path: f.dir + "/collector.sqlite", logger: Logger(label: "test"), tailSpan: .max)
        for (query, found) in zip(queries, indexed) {
            let scanned = try scan.allRecords(query).map(\.recordId)
            #expect(found == scanned, "\(query)")
            #expect(!scanned.isEmpty, "\(query)")
        }
    }

    @Test func retentionDeletesByReceiveTimeAndKeepsFindings() throws {
        let f = try CollectorStoreFixture()
        var c = try TestChain(sidecarId: "sc-c")
        var tampered = try c.seal(count: 3)
        tampered.remove(at: 1)
        _ = try f.store.ingest(lines: tampered, sidecarId: "sc-c", at: 500)
        var a = try TestChain(sidecarId: "sc-a")
        _ = try f.store.ingest(lines: try a.seal(count: 5), sidecarId: "sc-a", at: 1_000)
        var b = try TestChain(sidecarId: "sc-b", agentId: "agent-b")
        _ = try f.store.ingest(lines: try b.seal(count: 5), sidecarId: "sc-b", at: 2_000)
        #expect(try f.store.deleteRecords(receivedBefore: 1_500) == 7)
        #expect(try f.store.allRecords().map(\.sidecarId) == Array(repeating: "sc-b", count: 5))
        #expect(places(try f.store.findings(sidecarId: "sc-c", since: nil, limit: 10)) == ["gap@2"])
        // Grants of deleted records go too.
        #expect(try f.store.allRecords(RecordQuery(action: "s3:GetObject")).count == 5)
        #expect(try f.store.deleteRecords(receivedBefore: 1_500) == 0)
    }
}
