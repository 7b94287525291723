import Foundation
import ReinAudit
import Testing
@testable import ReinStore

@Suite struct CollectorIngestTests {
    /// The store is created with its large pages and readable by its owner only.
    @Test func aNewStoreHasItsPageSizeAndOwnerOnlyFiles() throws {
        let f = try CollectorStoreFixture()
        let path = f.dir + "/collector.sqlite"
        let pageSize = try f.store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
        #expect(pageSize == SQLiteCollectorStore.pageSize)
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600, "\(file)")
        }
    }

    @Test func storesABatchAndCountsEveryRecord() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        let lines = try chain.seal(count: 25)
        let outcome = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(outcome.accepted == 25)
        #expect(outcome.duplicates == 0)
        #expect(outcome.findings.isEmpty)
        #expect(outcome.throughSequence == 25)
        let stored = try f.store.allRecords()
        #expect(stored.map(\.sequence) == Array(1...25))
        // The stored line is the shipped line, byte for byte.
        let page = try f.store.records(RecordQuery(limit: 1))
        #expect(page.records.first?.line == Array(lines[0].dropLast()))
        let entry = try #require(try f.store.sidecar("sc-1"))
        #expect(entry.storedSequence == 25)
        #expect(entry.head == chain.chain)
    }

    @Test func reshippingABatchIsIdempotent() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        let lines = try chain.seal(count: 10)
        _ = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        let again = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(again.accepted == 0)
        #expect(again.duplicates == 10)
        #expect(again.findings.isEmpty)
        #expect(again.throughSequence == 10)
        // Half old, half new: only the new half is stored, and the chain continues.
        let more = try chain.seal(count: 5)
        let mixed = try f.store.ingest(lines: Array(lines[5...]) + more, sidecarId: "sc-1")
        #expect(mixed.accepted == 5)
        #expect(mixed.duplicates == 5)
        #expect(mixed.findings.isEmpty)
        #expect(try f.store.allRecords().count == 15)
        #expect(try f.store.findings(sidecarId: nil, since: nil, limit: 100).isEmpty)
    }

    @Test func aDuplicateWithinOneBatchIsCountedOnce() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        let lines = try chain.seal(count: 3)
        let outcome = try f.store.ingest(lines: lines + [lines[2]], sidecarId: "sc-1")
        #expect(outcome.accepted == 3)
        #expect(outcome.duplicates == 1)
        #expect(outcome.findings.isEmpty)
    }

    @Test func aRecordIdArrivingWithOtherContentIsAConflictKeptAsEvidence() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        let lines = try chain.seal(count: 6)
        _ = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        // Record 4 re-sent after its decision was changed (hash recomputed, so the line is self-consistent).
        var record = try JSONDecoder().decode(AuditRecord.self, from: Data(lines[3]))
        record.decision = "deny"
        var rechain = AuditChain(lastSequence: 3, lastHash: record.prevHash ?? "")
        let forged = try rechain.seal(&record).line
        let outcome = try f.store.ingest(lines: [forged], sidecarId: "sc-1")
        #expect(outcome.accepted == 0)
        #expect(outcome.duplicates == 0)
        #expect(places(outcome.findings) == ["conflicting-duplicate@4"])
        #expect(outcome.findings.first?.evidence == Array(forged.dropLast()))
        #expect(outcome.findings.first?.finding.recordId == record.recordId)
        // The stored record is the original.
        let stored = try f.store.allRecords()
        #expect(stored.count == 6)
        #expect(stored[3].decision == "allow")
    }

    @Test func theChainResumesFromTheStoredHeadAcrossBatchesAndReopening() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.ingest(lines: try chain.seal(count: 4), sidecarId: "sc-1")
        f.store.close()
        let reopened = try SQLiteCollectorStore(path: f.dir + "/collector.sqlite")
        let next = try reopened.ingest(lines: try chain.seal(count: 4), sidecarId: "sc-1")
        #expect(next.findings.isEmpty)
        // A batch that skips ahead is a gap at the first missing record, even across batches.
        _ = try chain.seal(count: 2)
        let skipped = try reopened.ingest(lines: try chain.seal(count: 1), sidecarId: "sc-1")
        #expect(places(skipped.findings) == ["gap@9"])
    }

    @Test func cursorsOnlyGrowAndEachBatchIsOneTransaction() throws {
        let f = try CollectorStoreFixture()
        var a = try TestChain(sidecarId: "sc-a")
        var b = try TestChain(sidecarId: "sc-b")
        _ = try f.store.ingest(lines: try a.seal(count: 3), sidecarId: "sc-a")
        let before = try f.store.latestCursor()
        _ = try f.store.ingest(lines: try b.seal(count: 2), sidecarId: "sc-b")
        #expect(try f.store.latestCursor() == before + 2)
        // A batch whose last line is malformed is refused whole: nothing of it is stored.
        var lines = try a.seal(count: 3)
        lines.append(Array("{\"not\":\"a record\"}\n".utf8))
        #expect(throws: AuditBatchError.self) { try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-a") }
        #expect(try f.store.allRecords(RecordQuery(sidecarId: "sc-a")).count == 3)
        _ = try f.store.deleteRecords(receivedBefore: Int64.max)
        #expect(try f.store.allRecords().isEmpty)
        _ = try f.store.ingest(lines: try b.seal(count: 1), sidecarId: "sc-b")
        #expect(try f.store.latestCursor() == before + 3)
    }

    @Test func aMalformedLineIsNamedByNumber() throws {
        var chain = try TestChain()
        var lines = try chain.seal(count: 3)
        lines[1] = Array(lines[1].dropLast(10)) + Array("\n".utf8)
        do {
            _ = try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-1")
            Issue.record("a truncated line was accepted")
        } catch {
            #expect(error.line == 2)
        }
    }

    @Test func checkpointLinesAreRecognisedAndCounted() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 0)
        let lines = try chain.seal(count: 5) + [try chain.checkpoint()]
        let batch = try AuditBatch.parse(ndjson: ndjson(lines), sidecarId: "sc-1")
        #expect(batch.records.count == 5)
        let outcome = try f.store.ingest(batch, at: 0)
        #expect(outcome.checkpoints == 1)
        #expect(outcome.findings.isEmpty)
        // Re-sent with its batch: a duplicate checkpoint is not checked (or stored) again.
        let again = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(again.findings.isEmpty)
        #expect(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).checkpoints == 1)
    }
}
