import Foundation
import ReinAudit
import ReinCrypto
import Testing
@testable import ReinStore

/// The size of a fixture record once sealed (sequences 1 to 9).
func sealedSize(_ f: SpoolFixture) throws -> Int64 {
    var chain = AuditChain()
    var r = f.record(1)
    return Int64(try chain.seal(&r).line.count)
}

/// Batches, acknowledgements, checkpoints and the disk cap.
struct AuditSpoolShippingTests {
    @Test func batchesAreCappedAndAcknowledgementFreesThem() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        #expect(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20) == SpoolBatch())
        let sealed = try (1...10).map { try spool.append(f.record($0)) }

        let four = try spool.pendingBatch(maxRecords: 4, maxBytes: 1 << 20)
        #expect(four.recordCount == 4 && four.throughSequence == 4)
        #expect(four.lines == sealed.prefix(4).map(\.line))
        // A byte cap smaller than one record still ships one record.
        let one = try spool.pendingBatch(maxRecords: 100, maxBytes: 1)
        #expect(one.recordCount == 1 && one.throughSequence == 1)
        let two = try spool.pendingBatch(maxRecords: 100, maxBytes: sealed[0].line.count + sealed[1].line.count)
        #expect(two.recordCount == 2)

        let before = spool.stats.bytes
        #expect(try spool.acknowledge(throughSequence: 4) == 4)
        #expect(spool.stats.records == 6)
        #expect(spool.stats.bytes == before - Int64(sealed.prefix(4).reduce(0) { $0 + $1.line.count }))
        let rest = try spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20)
        #expect(rest.recordCount == 6 && rest.lines.first == sealed[4].line && rest.throughSequence == 10)
        try spool.acknowledge(throughSequence: rest.throughSequence)
        #expect(spool.stats.records == 0 && spool.stats.bytes == 0 && spool.stats.lastSequence == 10)
    }

    @Test func checkpointsEveryNRecordsAreSignedAndFollowTheRecordTheyName() throws {
        let f = try SpoolFixture()
        let spool = try f.open(every: 10)
        defer { spool.close() }
        for i in 1...25 { try spool.append(f.record(i)) }
        #expect(spool.stats.checkpoints == 2)
        let batch = try spool.pendingBatch(maxRecords: 100, maxBytes: 1 << 20)
        #expect(batch.recordCount == 25 && batch.lines.count == 27)
        let v = try verify(batch.lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.findings.isEmpty, "\(v.findings)")
        #expect(v.checkpoints.map(\.sequence) == [10, 20])
        #expect(v.shape == String(repeating: "r", count: 10) + "c" + String(repeating: "r", count: 10) + "c" + String(repeating: "r", count: 5))
        for c in v.checkpoints {
            #expect(c.isSigned(by: f.key.publicKey))
            #expect(c.sidecarId == f.sidecarId && c.publicKey == f.key.publicKey.description)
            #expect(c.hash == v.records[Int(c.sequence) - 1].hash)
        }
        // A checkpoint signed by another key is caught by the same check.
        let other = try Ed25519PrivateKey()
        let w = try verify(batch.lines, sidecarId: f.sidecarId, key: other.publicKey)
        #expect(w.findings.map(\.kind) == [.unknownKey, .unknownKey])
    }

    @Test func aCheckpointIsWrittenWhenTheIntervalPassesAndTheHeadMoved() throws {
        let f = try SpoolFixture()
        let spool = try f.open(every: 1000, interval: .milliseconds(200))
        defer { spool.close() }
        try spool.append(f.record(1))
        let deadline = Date().addingTimeInterval(10)
        while spool.stats.checkpoints == 0, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(spool.stats.checkpoints == 1)
        // The head did not move: no second checkpoint.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(spool.stats.checkpoints == 1)
        let v = try verify(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).lines, sidecarId: f.sidecarId, key: f.key.publicKey)
        #expect(v.shape == "rc" && v.findings.isEmpty)
    }

    @Test func closingSignsTheHeadAndCheckpointsShipEvenWithoutRecords() throws {
        let f = try SpoolFixture()
        var spool = try f.open()
        try spool.append(f.record(1))
        let batch = try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20)
        try spool.acknowledge(throughSequence: batch.throughSequence)
        spool.close() // signs record 1's hash, though record 1 is already shipped
        spool = try f.open()
        defer { spool.close() }
        let left = try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20)
        #expect(left.recordCount == 0 && left.lines.count == 1 && left.throughSequence == 1)
        try spool.acknowledge(throughSequence: left.throughSequence)
        #expect(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).isEmpty)
        #expect(spool.stats.bytes == 0)
        // The head did not move since it was signed: closing again signs nothing new.
        spool.close()
        spool = try f.open()
        #expect(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).isEmpty)
    }

    @Test func aCheckpointSignedWhileABatchIsInFlightIsNotAcknowledgedWithIt() throws {
        let f = try SpoolFixture()
        let spool = try f.open()
        defer { spool.close() }
        for i in 1...3 { try spool.append(f.record(i)) }
        let batch = try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20)
        #expect(batch.recordCount == 3 && batch.lines.count == 3)
        // Signed (the interval passed) while the batch is being POSTed: it names record 3.
        let late = try #require(try spool.checkpoint())
        #expect(late.sequence == 3)
        try spool.acknowledge(throughSequence: batch.throughSequence)
        let next = try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20)
        let lateLine = try late.jsonLine()
        #expect(next.recordCount == 0 && next.lines == [lateLine] && next.throughSequence == 3)
        try spool.acknowledge(throughSequence: next.throughSequence)
        #expect(spool.stats.checkpoints == 0 && spool.stats.bytes == 0)
    }

    @Test func aFullSpoolRefusesUntilSpaceIsAcknowledged() throws {
        let f = try SpoolFixture()
        let size = try sealedSize(f)
        let spool = try f.open(maxBytes: size * 2 + 100) // two records; not a third, nor an intent

        defer { spool.close() }
        let first = try spool.append(f.record(1))
        try spool.append(f.record(2))
        #expect(!spool.stats.full)
        #expect(throws: AuditSpoolError.self) { try spool.append(f.record(3)) }
        do {
            _ = try spool.appendIntent(f.record(3))
            Issue.record("an intent past the cap must be refused")
        } catch {
            guard case .full(let needed, let used, let max) = error else { Issue.record("\(error)"); return }
            #expect(needed > 0 && used == spool.stats.bytes && max == size * 2 + 100)
        }
        #expect(spool.stats.full)
        #expect(spool.stats.lastSequence == 2, "a refused record takes no place in the chain")
        try spool.acknowledge(throughSequence: 1)
        #expect(!spool.stats.full)
        let third = try spool.append(f.record(3))
        #expect(third.sequence == 3)
        let v = try verify(try spool.pendingBatch(maxRecords: 10, maxBytes: 1 << 20).lines, sidecarId: f.sidecarId, key: f.key.publicKey,
                           from: AuditChain(lastSequence: 1, lastHash: first.hash))
        #expect(v.findings.isEmpty, "\(v.findings)")
    }

    @Test func dropWhenFullDropsCountsAndKeepsTheChainWhole() throws {
        let f = try SpoolFixture()
        let size = try sealedSize(f)
        let spool = try f.open(maxBytes: size * 2 + 100, dropWhenFull: true)
        defer { spool.close() }
        try spool.append(f.record(1))
        try spool.append(f.record(2))
        for i in 3...5 {
            #expect(throws: AuditSpoolError.self) { try spool.append(f.record(i)) }
        }
        #expect(spool.stats.dropped == 3 && spool.stats.full && spool.stats.records == 2)
        try spool.acknowledge(throughSequence: 2)
        let next = try spool.append(f.record(6))
        #expect(next.sequence == 3, "dropped records leave no gap")
    }

    @Test func droppedIsReportedAsSuch() throws {
        let f = try SpoolFixture()
        let spool = try f.open(maxBytes: 10, dropWhenFull: true)
        defer { spool.close() }
        let r = f.record(1)
        #expect(throws: AuditSpoolError.dropped(recordId: r.recordId, used: 0, max: 10)) { try spool.append(r) }
    }

    @Test func completingIsNeverRefusedForSpace() throws {
        let f = try SpoolFixture()
        let intentSize = Int64(try f.record(1).jsonLine().count)
        let spool = try f.open(maxBytes: intentSize + 10)
        defer { spool.close() }
        var r = f.record(1)
        let ticket = try spool.appendIntent(r)
        r.upstreamStatus = 200
        r.awsRequestId = "REQ-0123456789ABCDEF"
        let sealed = try spool.complete(ticket, with: r) // larger than the cap allows: the call already went out
        #expect(sealed.sequence == 1 && spool.stats.bytes > spool.stats.maxBytes && spool.stats.full)
    }
}
