import Foundation
import ReinAudit
import ReinCrypto
import Testing
@testable import ReinStore

/// Tampering with a spool before it ships is flagged at exactly the place
/// it happened, stored as a finding, and the records are kept.
@Suite struct CollectorTamperingTests {
    /// A registered sidecar with ten sealed records.
    func setUp() throws -> (CollectorStoreFixture, TestChain, [[UInt8]]) {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 0)
        let lines = try chain.seal(count: 10)
        return (f, chain, lines)
    }

    @Test func editingOneRecordsBytesIsAHashMismatchAtThatRecord() throws {
        var (f, _, lines) = try setUp()
        lines[4] = Array(String(decoding: lines[4], as: UTF8.self).replacingOccurrences(of: "\"allow\"", with: "\"deny\"").utf8)
        let outcome = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["hash-mismatch@5"])
        #expect(outcome.accepted == 10)
        #expect(places(try f.store.findings(sidecarId: "sc-1", since: nil, limit: 100)) == ["hash-mismatch@5"])
        let report = try f.store.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(places(report.findings) == ["hash-mismatch@5"])
        #expect(!report.ok)
        // The edited record is stored as shipped: evidence, not dropped.
        #expect(try f.store.allRecords()[4].decision == "deny")
    }

    @Test func deletingOneRecordIsAGapAtThatSequence() throws {
        var (f, _, lines) = try setUp()
        lines.remove(at: 6)
        let outcome = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["gap@7"])
        #expect(outcome.accepted == 9)
        #expect(places(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).findings) == ["gap@7"])
    }

    @Test func reorderingTwoRecordsIsFlaggedAtTheEarlierSequence() throws {
        var (f, _, lines) = try setUp()
        lines.swapAt(2, 3) // records 3 and 4
        let outcome = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["gap@3", "out-of-order@3"])
        #expect(outcome.accepted == 10)
        // Replayed in arrival order, verification shows it again.
        #expect(places(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).findings) == ["gap@3", "out-of-order@3"])
    }

    @Test func aCheckpointWithABadSignatureIsFlaggedAtItsSequence() throws {
        let (f, chain, lines) = try setUp()
        var checkpoint = try JSONDecoder().decode(AuditCheckpoint.self, from: Data(try chain.checkpoint()))
        checkpoint.time = "2026-03-01T10:02:00.000Z" // signed payload changed after signing
        let outcome = try f.store.ingest(lines: lines + [try checkpoint.jsonLine()], sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["bad-signature@10"])
        #expect(places(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).findings) == ["bad-signature@10"])
    }

    @Test func aCheckpointSignedByAnotherKeyIsAnUnknownKey() throws {
        let (f, chain, lines) = try setUp()
        let stranger = try Ed25519PrivateKey()
        let outcome = try f.store.ingest(lines: lines + [try chain.checkpoint(key: stranger)], sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["unknown-key@10"])
    }

    @Test func aRewrittenTailIsCaughtByTheSignedCheckpoint() throws {
        let (f, original, lines) = try setUp()
        // The checkpoint was signed over the original record 10.
        let checkpoint = try original.checkpoint()
        // Records 6…10 rewritten with recomputed hashes: the chain alone is consistent.
        var forger = original
        forger.chain = AuditChain(lastSequence: 5, lastHash: try ChainedLine(parsing: lines[4]).claimedHash)
        var rewritten = Array(lines[..<5])
        for _ in 6...10 { rewritten.append(try forger.seal { $0.decision = "deny" }) }
        let outcome = try f.store.ingest(lines: rewritten + [checkpoint], sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["checkpoint-mismatch@10"])
        #expect(places(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).findings) == ["checkpoint-mismatch@10"])
    }

    @Test func aCheckpointFromAnUnregisteredSidecarIsAnUnknownKey() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        let lines = try chain.seal(count: 3) + [try chain.checkpoint()]
        let outcome = try f.store.ingest(lines: lines, sidecarId: "sc-1")
        #expect(places(outcome.findings) == ["unknown-key@3"])
    }

    @Test func registeringAnotherKeyIsRefusedAndFlagged() throws {
        let f = try CollectorStoreFixture()
        let chain = try TestChain()
        #expect(try f.store.register(chain.registration(), at: 0).status == .registered)
        #expect(try f.store.register(chain.registration(), at: 1).status == .matches)
        var other = chain.registration()
        other.publicKey = try Ed25519PrivateKey().publicKey.description
        let outcome = try f.store.register(other, at: 2)
        #expect(outcome.status == .mismatch)
        #expect(outcome.finding?.finding.kind == .unknownKey)
        #expect(try f.store.sidecar("sc-1")?.publicKey == chain.publicKeyHex)
        #expect(try f.store.sidecar("sc-1")?.findings == 1)
    }

    @Test func verificationOfARangeStartsFromTheStoredRecordBeforeIt() throws {
        var (f, chain, lines) = try setUp()
        _ = try f.store.ingest(lines: lines, sidecarId: "sc-1", at: 1_000)
        _ = try f.store.ingest(lines: try chain.seal(count: 10), sidecarId: "sc-1", at: 2_000)
        let middle = try f.store.verify(sidecarId: "sc-1", from: 8, to: 14)
        #expect(middle.ok)
        #expect(middle.records == 7)
        #expect(middle.from == 8 && middle.to == 14)
        // Retention removes the first batch; what remains still verifies, from its first record.
        #expect(try f.store.deleteRecords(receivedBefore: 1_500) == 10)
        let rest = try f.store.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(rest.ok)
        #expect(rest.records == 10)
        #expect(rest.from == 11)
    }
}

/// Records deleted from the collector's own database after ingest (by
/// someone with access to it, not by retention) are found by
/// re-verification at the first missing sequence, at either end of the
/// chain as in its middle: the replay alone sees a gap only where a later
/// record follows, so the chain's known reach (its stored runs, the
/// sidecar's head, its signed checkpoints) bounds it.
@Suite struct CollectorStoreTamperingTests {
    @Test(arguments: [
        ("DELETE FROM records WHERE sequence <= 5", ["gap@1"]),
        ("DELETE FROM records WHERE sequence = 10", ["gap@10"]),
        ("DELETE FROM records WHERE sequence >= 16", ["gap@16"]),
        ("DELETE FROM records", ["gap@1"]),
        // The head is gone from the runs too: the sidecar's head still says how far the chain reached.
        ("DELETE FROM records WHERE sequence >= 16; UPDATE record_runs SET last_sequence = min(last_sequence, 15)", ["gap@16"]),
    ])
    func deletedStoredRecordsAreFoundByReverification(sql: String, expected: [String]) throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.register(chain.registration(), at: 0)
        let outcome = try f.store.ingest(lines: try chain.seal(count: 20) + [try chain.checkpoint()], sidecarId: "sc-1", at: 1_000)
        #expect(outcome.findings.isEmpty)
        #expect(try f.store.verify(sidecarId: "sc-1", from: nil, to: nil).ok)
        try f.store.pool.write { db in try db.execute(sql: sql) }
        let report = try f.store.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(places(report.findings) == expected)
        #expect(report.from == 1 && report.to == 20)
        // A range that ends before the missing tail still verifies.
        if sql.contains(">= 16") { #expect(try f.store.verify(sidecarId: "sc-1", from: 3, to: 15).ok) }
    }

    /// What was never shipped yet is not missing: a range reaching past the
    /// chain's head verifies, and so does a sidecar whose records all went
    /// to retention.
    @Test func aRangePastTheHeadAndAFullyRetainedSidecarVerify() throws {
        let f = try CollectorStoreFixture()
        var chain = try TestChain()
        _ = try f.store.ingest(lines: try chain.seal(count: 8), sidecarId: "sc-1", at: 1_000)
        #expect(try f.store.verify(sidecarId: "sc-1", from: 1, to: 1_000).ok)
        #expect(try f.store.deleteRecords(receivedBefore: 2_000) == 8)
        let report = try f.store.verify(sidecarId: "sc-1", from: nil, to: nil)
        #expect(report.ok)
        #expect(report.retainedFrom == 9)
    }
}
