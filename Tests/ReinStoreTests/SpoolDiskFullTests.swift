import Foundation
import ReinAudit
import Testing
@testable import ReinStore

/// A full disk under the spool: writes are refused with nothing kept, and go
/// on by themselves once space is freed (no restart, no "outcome unknown").
/// SQLite's `max_page_count` refuses a growing write with `SQLITE_FULL`,
/// exactly as a full disk does (``AuditSpool/capSizeForTesting(_:)``).
struct SpoolDiskFullTests {
    /// Appends records until one is refused; returns how many went in and the refusal.
    private func fill(_ spool: AuditSpool, _ f: SpoolFixture, from first: Int) -> (stored: Int, refusal: AuditSpoolError?) {
        for i in 0..<200 {
            do {
                try spool.append(f.record(first + i))
            } catch {
                return (i, error)
            }
        }
        return (200, nil)
    }

    @Test func aFullDiskRefusesWritesUntilSpaceIsFreedWithNoRestart() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        for i in 1...3 { try spool.append(f.record(i)) }
        try spool.capSizeForTesting(true)
        let (stored, refusal) = fill(spool, f, from: 4)
        guard case .diskFull(let path, _)? = refusal else {
            Issue.record("expected a full-disk refusal, got \(String(describing: refusal))")
            return
        }
        #expect(path == f.path)
        #expect(refusal.map { "\($0)" }?.contains("writes go on once space is freed") == true)
        let during = spool.stats
        #expect(during.diskFull)
        #expect(during.lastSequence == Int64(3 + stored), "a refused record takes no place in the chain")
        #expect(spool.durabilityFault == nil, "a full disk is not a lost write")
        // Still full: refused again, and the spool stays as it was.
        #expect(throws: AuditSpoolError.self) { try spool.append(f.record(999)) }
        #expect(spool.stats.lastSequence == during.lastSequence)

        try spool.capSizeForTesting(false)
        let next = try spool.append(f.record(1000))
        #expect(next.sequence == during.lastSequence + 1)
        #expect(!spool.stats.diskFull)
        let batch = try spool.pendingBatch(maxRecords: 1000, maxBytes: 1 << 24)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        #expect(v.records.map(\.sequence) == Array(1...next.sequence))
    }

    /// A forwarded call's outcome refused for a full disk is held, and sealed
    /// with what AWS answered ahead of the next write once there is room.
    @Test func anOutcomeRefusedForAFullDiskIsSealedOnceThereIsRoom() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        var call = f.record(1)
        let ticket = try spool.appendIntent(call)
        try spool.capSizeForTesting(true)
        #expect(fill(spool, f, from: 2).refusal.map { if case .diskFull = $0 { true } else { false } } == true)
        let sequenceWhenFull = spool.stats.lastSequence

        // Larger than any room a refused record left on the last page.
        call.upstreamStatus = 200
        call.awsRequestId = "REQ-HELD-FOR-ROOM"
        call.reason = String(repeating: "r", count: 3000)
        #expect {
            try spool.complete(ticket, with: call)
        } throws: { error in
            if case .diskFull = error as? AuditSpoolError { true } else { false }
        }
        #expect(spool.stats.heldOutcomes == 1 && spool.stats.intents == 1 && spool.stats.diskFull)

        try spool.capSizeForTesting(false)
        let next = try spool.append(f.record(500))
        let stats = spool.stats
        #expect(stats.heldOutcomes == 0 && stats.intents == 0 && !stats.diskFull)
        #expect(next.sequence == sequenceWhenFull + 2, "the held outcome is sealed first")
        let v = try verify(try spool.pendingBatch(maxRecords: 1000, maxBytes: 1 << 24).lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        let held = v.records.first { $0.recordId == call.recordId }
        #expect(held?.sequence == sequenceWhenFull + 1)
        #expect(held?.upstreamStatus == 200 && held?.awsRequestId == "REQ-HELD-FOR-ROOM")
        #expect(v.records.filter { $0.recordId == call.recordId }.count == 1)
    }
}
