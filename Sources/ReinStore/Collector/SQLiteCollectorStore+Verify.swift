import Foundation
import GRDB
import ReinAudit

/// Re-verification of a stored range.
///
/// Records are replayed in the order they arrived (cursor order), so a
/// reordering that was flagged at ingest shows again; the replay starts from
/// the stored hash of the record before the range (genesis for sequence 1),
/// or, when that record is no longer held (retention), from the first
/// record's own `prev_hash`.
extension SQLiteCollectorStore {
    public func verify(sidecarId: String, from: Int64?, to: Int64?) throws(CollectorStoreError) -> ChainVerificationReport {
        try read("verify") { db in
            let bounds = try Row.fetchOne(db, sql: "SELECT min(first_sequence), max(last_sequence) FROM record_runs WHERE sidecar_id = ?",
                                          arguments: [sidecarId])
            let highest: Int64? = bounds?[1]
            let sidecar = try Row.fetchOne(db, sql: "SELECT public_key, max(head_sequence, stored_sequence) AS head FROM sidecars WHERE sidecar_id = ?",
                                           arguments: [sidecarId])
            let registered: String? = sidecar?["public_key"]
            // Records below the retention floor were deleted on purpose: not a
            // gap. The whole chain is from the floor (or 1) to the highest
            // sequence the store knows the chain reached, whatever is still
            // held: records missing at either end are found, not skipped.
            let floor = try Int64.fetchOne(db, sql: "SELECT value FROM collector_meta WHERE key = ?",
                                           arguments: ["retained_from:" + sidecarId]) ?? 1
            let first = max(1, floor, from ?? 1)
            let last = to ?? max(highest ?? 0, sidecar?["head"] as Int64? ?? 0)
            let retained = floor > max(1, from ?? 1) ? floor : nil
            guard first <= last else {
                return ChainVerificationReport(sidecarId: sidecarId, from: first, to: last, records: 0, checkpoints: 0, findings: [],
                                               retainedFrom: retained)
            }
            var findings: [IntegrityFinding] = []
            var verifier: IngestVerifier?
            if first == 1 {
                verifier = IngestVerifier(sidecarId: sidecarId, head: AuditChain())
            } else if let hash = try Self.storedHash(sidecarId: sidecarId, sequence: first - 1, db: db) {
                verifier = IngestVerifier(sidecarId: sidecarId, head: AuditChain(lastSequence: first - 1, lastHash: hash))
            }
            var count = 0
            for range in try RecordRuns.cursorRanges(sidecarId: sidecarId, first: first, last: last, db: db) {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT sequence, record_id, line FROM records
                    WHERE cursor BETWEEN ? AND ? AND sidecar_id = ? AND sequence BETWEEN ? AND ? ORDER BY cursor
                    """, arguments: [range.lowerBound, range.upperBound, sidecarId, first, last])
                while let row = try rows.next() {
                    count += 1
                    let line = (row["line"] as Data?).map { [UInt8]($0) } ?? []
                    let record: IngestRecord
                    do throws(AuditLineError) {
                        record = try IngestRecord(line: line)
                    } catch {
                        findings.append(IntegrityFinding(kind: .malformed, sidecarId: sidecarId, sequence: row["sequence"],
                                                         recordId: row["record_id"], detail: "the stored line is not a record: \(error.reason)"))
                        continue
                    }
                    if verifier == nil {
                        // The record before the range is gone: start from this record's own link.
                        verifier = IngestVerifier(sidecarId: sidecarId,
                                                  head: AuditChain(lastSequence: first - 1, lastHash: record.prevHash ?? AuditChain.genesis))
                    }
                    findings += verifier!.admit(record)
                }
            }
            let key = registered.map(Ed25519PublicKeyHex.init(hex:))
            var checkpoints = 0
            var signedThrough: Int64 = 0
            let stored = try Row.fetchCursor(db, sql: """
                SELECT sequence, line FROM checkpoints WHERE sidecar_id = ? AND sequence BETWEEN ? AND ? ORDER BY id
                """, arguments: [sidecarId, first, last])
            while let row = try stored.next() {
                checkpoints += 1
                signedThrough = max(signedThrough, row["sequence"] as Int64? ?? 0)
                let line = (row["line"] as Data?) ?? Data()
                guard let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: line) else {
                    findings.append(IntegrityFinding(kind: .malformed, sidecarId: sidecarId, sequence: row["sequence"],
                                                     detail: "the stored checkpoint at \(row["sequence"] as Int64? ?? 0) is not readable"))
                    continue
                }
                let storedHash = try Self.storedHash(sidecarId: sidecarId, sequence: checkpoint.sequence, db: db)
                findings += ChainVerifier(sidecarId: sidecarId).check(checkpoint, registeredKey: key, storedHash: storedHash)
            }
            // Records missing at the end show no gap in the replay (no later
            // record follows them). The chain is known to reach as far as the
            // stored runs, the sidecar's head and its signed checkpoints say:
            // anything short of that, within the range, was stored and is gone
            // (a truncated table), or never arrived.
            let reached = verifier?.head.lastSequence ?? first - 1
            let end = min(last, max(highest ?? 0, sidecar?["head"] as Int64? ?? 0, signedThrough))
            if reached < end {
                findings.append(IntegrityFinding(kind: .gap, sidecarId: sidecarId, sequence: reached + 1,
                                                 detail: reached + 1 == end ? "record \(end) is not stored, though the chain reached it"
                                                     : "records \(reached + 1)…\(end) are not stored, though the chain reached \(end)"))
            }
            return ChainVerificationReport(sidecarId: sidecarId, from: first, to: last, records: count,
                                           checkpoints: checkpoints, findings: findings, retainedFrom: retained)
        }
    }

    public func checkpointLines(sidecarId: String, from: Int64, to: Int64) throws(CollectorStoreError) -> [(sequence: Int64, line: [UInt8])] {
        try read("read checkpoints") { db in
            try Row.fetchAll(db, sql: """
                SELECT sequence, line FROM checkpoints WHERE sidecar_id = ? AND sequence BETWEEN ? AND ? ORDER BY sequence, id
                """, arguments: [sidecarId, from, to]).map { row in
                (row["sequence"], (row["line"] as Data?).map { [UInt8]($0) } ?? [])
            }
        }
    }
}
