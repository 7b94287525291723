import Foundation
import ReinAudit
import Testing
@testable import ReinStore

/// How a parsed batch numbers its records' zone values and rollup keys
/// (``IngestKeys``), which the store's writer then only looks up.
@Suite struct IngestKeysTests {
    /// The (kind, value) pairs the `index`-th record names, by id.
    private func zones(_ keys: IngestKeys, _ index: Int) -> [String] {
        keys.zoneIds(ofRecord: index).map { "\(keys.zoneValues[Int($0)].kind.rawValue)=\(keys.zoneValues[Int($0)].value)" }
    }

    @Test func equalValuesShareAnIdAndEachRecordListsItsOwn() throws {
        var chain = try TestChain(sidecarId: "sc-k", agentId: "agent-k")
        let lines = [
            try chain.seal(),
            try chain.seal { $0.decision = "deny"; $0.taskId = nil },
            try chain.seal {
                $0.grants = [.init(action: "s3:PutObject", resources: ["arn:aws:s3:::reports/a-long-prefix-that-passes-the-head/x", ""]),
                             .init(action: "s3:GetObject", resources: [])]
            },
        ]
        let batch = try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-k")
        let keys = batch.keys
        #expect(keys.recordCount == 3)
        #expect(zones(keys, 0) == ["time=", "sidecar=sc-k", "agent=agent-k", "task=task-1", "decision=allow", "event=call",
                                   "action=s3:GetObject", "resource=arn:aws:s3:::reports/1.csv"])
        #expect(zones(keys, 1) == ["time=", "sidecar=sc-k", "agent=agent-k", "decision=deny", "event=call",
                                   "action=s3:GetObject", "resource=arn:aws:s3:::reports/2.csv"])
        // A resource is kept to its head; an empty one is not a zone value.
        #expect(zones(keys, 2) == ["time=", "sidecar=sc-k", "agent=agent-k", "task=task-1", "decision=allow", "event=call",
                                   "action=s3:PutObject", "resource=arn:aws:s3:::reports/a-long-pref", "action=s3:GetObject"])
        // Shared values are numbered once.
        #expect(keys.zoneIds(ofRecord: 0).first == keys.zoneIds(ofRecord: 2).first)
        #expect(keys.zoneValues.count == Set(keys.zoneValues.map { "\($0.kind)=\($0.value)" }).count)
        // Records 0 and 2 fall in the same rollup row; the denial has its own.
        #expect(keys.rollupIds == [0, 1, 0])
        #expect(keys.rollupKeys.map(\.decision) == ["allow", "deny"])
        #expect(keys.rollupKeys.map(\.taskId) == ["task-1", ""])
    }

    /// Past ``IngestKeys/listLimit`` values of one kind the lookup switches
    /// to a dictionary; ids stay the same either way.
    @Test func manyDistinctValuesKeepTheirIds() throws {
        var chain = try TestChain(sidecarId: "sc-m")
        let distinct = IngestKeys.listLimit * 3
        var lines: [[UInt8]] = []
        for round in 0..<2 {
            for n in 0..<distinct {
                lines.append(try chain.seal { r in
                    r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/\(n)"])]
                    r.taskId = "task-\(n % 5)-\(round)"
                })
            }
        }
        let keys = try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-m").keys
        for n in 0..<distinct {
            let first = zones(keys, n)
            let again = zones(keys, distinct + n)
            #expect(first.last == "resource=arn:aws:s3:::b/\(n)")
            #expect(again.last == first.last)
            #expect(keys.zoneIds(ofRecord: n).last == keys.zoneIds(ofRecord: distinct + n).last)
        }
        #expect(keys.zoneValues.filter { $0.kind == .resource }.count == distinct)
        #expect(keys.zoneValues.filter { $0.kind == .task }.count == 10)
        #expect(keys.rollupKeys.count == 10)
    }

    @Test func checkpointsAreNotRecords() throws {
        var chain = try TestChain(sidecarId: "sc-c")
        let lines = [try chain.seal(), try chain.checkpoint(), try chain.seal()]
        let keys = try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-c").keys
        #expect(keys.recordCount == 2)
        #expect(zones(keys, 1).last == "resource=arn:aws:s3:::reports/2.csv")
    }
}
