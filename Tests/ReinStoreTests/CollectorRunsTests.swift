import Foundation
import GRDB
import Logging
import ReinAudit
import Testing
@testable import ReinStore

/// Where sequences are stored (``RecordRuns``), and the v3 migration that
/// replaced the per-record indexes with runs and zone maps.
@Suite struct CollectorRunsTests {
    private func runsDatabase() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        try queue.write { db in try db.execute(sql: RecordRuns.createSQL) }
        return queue
    }

    @Test func consecutiveSequencesAreOneRunUpToTheMaximumLength() throws {
        let queue = try runsDatabase()
        let count = RecordRuns.maximumLength + 100
        try queue.write { db in
            var runs = RecordRuns()
            for s in 1...count { runs.add(sidecarId: "sc-a", sequence: s, cursor: s + 10) }
            try runs.flush(db)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM record_runs") == 2)
            for s: Int64 in [1, 2, RecordRuns.maximumLength, RecordRuns.maximumLength + 1, count] {
                #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: s, db: db) == [s + 10], "sequence \(s)")
            }
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: count + 1, db: db).isEmpty)
            #expect(try RecordRuns.cursors(sidecarId: "sc-b", sequence: 5, db: db).isEmpty)
            #expect(try RecordRuns.cursorRanges(sidecarId: "sc-a", first: 5, last: count - 5, db: db) == [15...(count + 5)])
        }
    }

    @Test func gapsReordersOtherSidecarsAndRepeatsStartNewRuns() throws {
        let queue = try runsDatabase()
        try queue.write { db in
            var runs = RecordRuns()
            // cursor: 1  2  3  4  5  6     7
            // seq:    1  2  4  3  5  (b)1  2 (stored again)
            for (s, c) in [(1, 1), (2, 2), (4, 3), (3, 4), (5, 5)] as [(Int64, Int64)] { runs.add(sidecarId: "sc-a", sequence: s, cursor: c) }
            runs.add(sidecarId: "sc-b", sequence: 1, cursor: 6)
            runs.add(sidecarId: "sc-a", sequence: 2, cursor: 7)
            try runs.flush(db)
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 2, db: db) == [2, 7])
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 3, db: db) == [4])
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 4, db: db) == [3])
            #expect(try RecordRuns.cursors(sidecarId: "sc-b", sequence: 1, db: db) == [6])
            #expect(try RecordRuns.cursorRanges(sidecarId: "sc-a", first: 1, last: 5, db: db) == [1...5, 7...7])
            // Retention through cursor 3: the first run goes, the split one keeps its upper part.
            try RecordRuns.trim(through: 3, db: db)
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 2, db: db) == [7])
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 4, db: db).isEmpty)
            #expect(try RecordRuns.cursors(sidecarId: "sc-a", sequence: 5, db: db) == [5])
            #expect(try RecordRuns.cursorRanges(sidecarId: "sc-a", first: 1, last: 5, db: db) == [4...5, 7...7])
        }
    }

    @Test func verificationAfterRetentionSplitABatchStartsAtTheFirstKeptRecord() throws {
        let f = try CollectorStoreFixture()
        var a = try TestChain(sidecarId: "sc-a")
        _ = try f.store.ingest(lines: try a.seal(count: 30), sidecarId: "sc-a", at: 1_000)
        #expect(try f.store.deleteRecords(receivedBefore: 2_000) == 30)
        _ = try f.store.ingest(lines: try a.seal(count: 10), sidecarId: "sc-a", at: 3_000)
        let report = try f.store.verify(sidecarId: "sc-a", from: nil, to: nil)
        #expect(report.from == 31)
        #expect(report.to == 40)
        #expect(report.records == 10)
        #expect(report.findings.isEmpty)
        // Asking from 1 explicitly: what retention removed is said, not flagged as a gap.
        let fromOne = try f.store.verify(sidecarId: "sc-a", from: 1, to: 40)
        #expect(fromOne.findings.isEmpty && fromOne.retainedFrom == 31 && fromOne.from == 31 && fromOne.records == 10)
        // A real gap above the floor is still one.
        _ = try a.seal(count: 1)
        _ = try f.store.ingest(lines: try a.seal(count: 1), sidecarId: "sc-a", at: 4_000)
        #expect(try f.store.verify(sidecarId: "sc-a", from: 1, to: nil).findings.map(\.kind) == [.gap])
    }

    /// The retention floor moves with each chunk's deletion, in its
    /// transaction: when retention stops after deleting (a crash, a full
    /// disk), what it deleted still reads as retained, never as a gap.
    @Test func retentionStoppedAfterDeletingLeavesNoFalseGap() throws {
        let f = try CollectorStoreFixture()
        var a = try TestChain(sidecarId: "sc-a")
        _ = try f.store.ingest(lines: try a.seal(count: 30), sidecarId: "sc-a", at: 1_000)
        _ = try f.store.ingest(lines: try a.seal(count: 5), sidecarId: "sc-a", at: 3_000)
        // Retention's last step (the batch bookkeeping) fails, as a crash there would.
        try f.store.write("test trigger") { db in
            try db.execute(sql: "CREATE TRIGGER stop_retention BEFORE DELETE ON batches BEGIN SELECT RAISE(ABORT, 'stopped'); END")
        }
        #expect(throws: CollectorStoreError.self) { try f.store.deleteRecords(receivedBefore: 2_000) }
        let report = try f.store.verify(sidecarId: "sc-a", from: 1, to: nil)
        #expect(report.records == 5)
        #expect(report.findings.isEmpty, "deleted records must read as retained: \(report.findings)")
        #expect(report.retainedFrom == 31)
    }

    /// A report lists the newest findings of the sidecars in its scope, even
    /// when older ones, or another sidecar's, outnumber its cap.
    @Test func reportFindingsAreTheNewestOfTheScope() throws {
        let f = try CollectorStoreFixture()
        for (sidecar, at) in [("sc-b", 1_000), ("sc-b", 1_500), ("sc-a", 2_000), ("sc-b", 2_500), ("sc-a", 3_000), ("sc-a", 4_000)] as [(String, Int64)] {
            _ = try f.store.addFindings([IntegrityFinding(kind: .gap, sidecarId: sidecar, sequence: at, detail: "at \(at)")], evidence: nil, at: at)
        }
        let found = try f.store.findings(before: 4_000, sidecarIds: ["sc-a"], newest: 1)
        #expect(found.map(\.foundAt) == [3_000])
        #expect(try f.store.findings(before: 4_001, sidecarIds: ["sc-a", "sc-b"], newest: 10).map(\.foundAt) == [1_000, 1_500, 2_000, 2_500, 3_000, 4_000])
        #expect(try f.store.findings(before: 4_001, sidecarIds: [], newest: 10).isEmpty)
        // A fleet larger than SQLite's limit on statement variables.
        let fleet = ["sc-a"] + (0..<40_000).map { "sc-x\($0)" }
        #expect(try f.store.findings(before: 4_001, sidecarIds: fleet, newest: 10).count == 3)
    }

    /// Retention of one sidecar's records says nothing about another's: a
    /// chain whose first records never arrived keeps its gap.
    @Test func retentionOfOneSidecarHidesNoGapOfAnother() throws {
        let f = try CollectorStoreFixture()
        var old = try TestChain(sidecarId: "sc-old")
        var gappy = try TestChain(sidecarId: "sc-gap")
        _ = try f.store.ingest(lines: try old.seal(count: 5), sidecarId: "sc-old", at: 1_000)
        _ = try gappy.seal(count: 10) // 1…10 never arrive
        _ = try f.store.ingest(lines: try gappy.seal(count: 10), sidecarId: "sc-gap", at: 5_000)
        #expect(try f.store.deleteRecords(receivedBefore: 2_000) == 5)
        let report = try f.store.verify(sidecarId: "sc-gap", from: 1, to: nil)
        #expect(report.retainedFrom == nil && report.findings.map(\.kind) == [.gap])
        #expect(try f.store.verify(sidecarId: "sc-old", from: 1, to: nil).retainedFrom == 6)
    }

    /// A v2 database (per-record indexes and a grants table) migrates: runs
    /// and zones are built from its records, the old indexes go, and
    /// queries, re-verification and duplicate detection work on the old records.
    @Test func aVersionTwoDatabaseMigrates() throws {
        let dir = NSTemporaryDirectory() + "rein-collector-v2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/collector.sqlite"
        var a = try TestChain(sidecarId: "sc-a", agentId: "agent-a")
        var b = try TestChain(sidecarId: "sc-b", agentId: "agent-b")
        let linesA = try (0..<40).map { n in try a.seal { r in if n == 7 { r.decision = "deny"; r.grants = [.init(action: "iam:PassRole", resources: ["arn:aws:iam::1:role/x"])] } } }
        let linesB = try b.seal(count: 25)
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteCollectorStore.migrator.migrate(queue, upTo: "collector-v2-rollup")
            try queue.write { db in
                var cursor: Int64 = 0
                for line in linesA + linesB {
                    cursor += 1
                    let r = try IngestRecord(line: line)
                    try db.execute(sql: """
                        INSERT INTO records (cursor, record_id, sidecar_id, sequence, hash, time_ms, agent_id, task_id, event, decision, line)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [cursor, r.recordId, r.sidecarId, r.sequence, r.claimedHash, r.timeMillis, r.agentId, r.taskId,
                                         r.event, r.decision, Data(r.line)])
                    for g in r.grants {
                        for resource in g.resources {
                            try db.execute(sql: "INSERT INTO record_grants (cursor, action, resource) VALUES (?, ?, ?)",
                                           arguments: [cursor, g.action, resource])
                        }
                    }
                }
                // The zone kinds v1 kept.
                try db.execute(sql: """
                    INSERT INTO record_blocks SELECT 'time', '', cursor / 1024, min(time_ms), max(time_ms) FROM records GROUP BY 3;
                    INSERT INTO record_blocks SELECT 'action', g.action, g.cursor / 1024, min(r.time_ms), max(r.time_ms)
                        FROM record_grants g JOIN records r ON r.cursor = g.cursor GROUP BY 2, 3;
                    """)
                try db.execute(sql: "INSERT INTO collector_meta (key, value) VALUES ('cursor', ?)", arguments: [cursor])
                for chain in [a, b] {
                    try db.execute(sql: "INSERT INTO sidecars (sidecar_id, head_sequence, head_hash, stored_sequence) VALUES (?, ?, ?, ?)",
                                   arguments: [chain.sidecarId, chain.chain.lastSequence, chain.chain.lastHash, chain.chain.lastSequence])
                }
            }
            try queue.close()
        }
        let store = try SQLiteCollectorStore(path: path, logger: Logger(label: "test"), tailSpan: 0)
        let left = try store.read("schema") { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'records_%' OR name = 'record_grants'")
        }
        #expect(left.isEmpty)
        #expect(try store.allRecords(RecordQuery(agentId: "agent-b")).count == 25)
        #expect(try store.allRecords(RecordQuery(action: "iam:PassRole")).map(\.sequence) == [8])
        #expect(try store.allRecords(RecordQuery(sidecarId: "sc-a", decision: "deny")).map(\.sequence) == [8])
        let report = try store.verify(sidecarId: "sc-a", from: nil, to: nil)
        #expect(report.records == 40)
        #expect(report.findings.isEmpty)
        // Re-shipped old records are duplicates, found through the backfilled runs.
        let again = try store.ingest(lines: Array(linesA[30...]), sidecarId: "sc-a")
        #expect(again.duplicates == 10)
        #expect(again.accepted == 0)
        // New records continue the chain after the migrated ones.
        let next = try store.ingest(lines: try a.seal(count: 5), sidecarId: "sc-a")
        #expect(next.accepted == 5)
        #expect(next.findings.isEmpty)
    }
}
