import Foundation
import GRDB
import ReinAudit

/// Ingest: one transaction per batch.
///
/// For each record line, in order: insert it unless its record id is
/// already stored at that sidecar and sequence (found through
/// ``RecordRuns``; then it is a duplicate when the hash matches, otherwise a
/// `conflicting-duplicate` finding that keeps the line as evidence), note it
/// in the zone map and the daily rollup, and admit it to the sidecar's
/// chain. A record id reused at another sequence is stored as a record of
/// its own and judged by the chain (see the schema for why record ids are
/// not indexed). For each checkpoint:
/// store it unless already held, then check it against the pinned key and
/// the stored hash of the record it names. Findings, the new chain head and
/// the batch's bookkeeping commit with the records.
extension SQLiteCollectorStore {
    public func ingest(_ batch: AuditBatch, at now: Int64) throws(CollectorStoreError) -> IngestOutcome {
        if let refusal = faultRefusal("ingest") { throw refusal }
        return try groupCommit.submit(batch, at: now, commit: { group in commitGroup(group) }, sync: { syncCommitted("ingest") }).get()
    }

    /// (commits, batches) since the store opened: batches per commit shows the group commit at work.
    public var ingestCommitStats: (commits: Int64, batches: Int64) { groupCommit.stats }

    /// One transaction for the group, a savepoint per batch.
    private func commitGroup(_ group: [IngestGroupCommit.Pending]) -> [Result<IngestOutcome, CollectorStoreError>] {
        var outcomes: [Result<IngestOutcome, CollectorStoreError>] = []
        do {
            try pool.write { db in
                for pending in group {
                    var outcome: IngestOutcome?
                    do {
                        try db.inSavepoint {
                            outcome = try Self.ingest(pending.batch, at: pending.now, db: db)
                            return .commit
                        }
                        outcomes.append(.success(outcome ?? IngestOutcome()))
                    } catch {
                        // A full disk or an I/O error makes SQLite roll back
                        // the whole transaction, not only this savepoint:
                        // nothing of the group is kept, and every batch in it
                        // fails alike (a later one would otherwise commit
                        // on its own, outside the group).
                        guard db.isInsideTransaction else { throw error }
                        outcomes.append(.failure(batchFailure(error)))
                    }
                }
            }
        } catch {
            let failure = batchFailure(error)
            return group.map { _ in .failure(failure) }
        }
        noteCommitted(diskFull: outcomes.contains { if case .failure(.full) = $0 { true } else { false } })
        return outcomes
    }

    private func batchFailure(_ error: any Error) -> CollectorStoreError {
        if let error = error as? CollectorStoreError { return error }
        if let error = error as? SQLiteStatementError, !SQLiteStore.isDiskFull(error) {
            return .database(operation: error.operation, message: error.message)
        }
        return writeFailure("ingest", error)
    }

    static func ingest(_ batch: AuditBatch, at now: Int64, db: Database) throws -> IngestOutcome {
        let sidecarId = batch.sidecarId
        let state = try Row.fetchOne(db, sql: """
            SELECT public_key, head_sequence, head_hash, stored_sequence FROM sidecars WHERE sidecar_id = ?
            """, arguments: [sidecarId])
        let registeredKey: Ed25519PublicKeyHex? = (state?["public_key"] as String?).map(Ed25519PublicKeyHex.init(hex:))
        var verifier = IngestVerifier(sidecarId: sidecarId,
                                      head: AuditChain(lastSequence: state?["head_sequence"] ?? 0,
                                                       lastHash: state?["head_hash"] ?? AuditChain.genesis))
        var storedSequence: Int64 = state?["stored_sequence"] ?? 0

        let insertRecord = try SQLiteRawStatement("""
            INSERT INTO records (cursor, record_id, sidecar_id, sequence, hash, time_ms, agent_id, task_id, event, decision, line)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, db: db)
        var cursor = try newestCursor(db)
        var zones = RecordZones(keys: batch.keys)
        var rollup = RecordRollup(keys: batch.keys)
        var runs = RecordRuns()
        let sameSequence = try SQLiteRawStatement("SELECT record_id, hash, line FROM records WHERE cursor = ? AND sidecar_id = ? AND sequence = ?", db: db)

        var outcome = IngestOutcome()
        var findings: [(IntegrityFinding, [UInt8]?)] = []
        var highest: Int64?
        var recordIndex = -1
        for item in batch.items {
            switch item {
            case .record(let r):
                recordIndex += 1
                highest = max(highest ?? r.sequence, r.sequence)
                // A record seen before has the same sidecar and sequence; only a
                // sequence not above the highest stored one can have been seen.
                if r.sequence <= storedSequence, r.sidecarId == sidecarId {
                    try runs.flush(db)
                    var priorHash: String?
                    var sameBytes = false
                    for stored in try RecordRuns.cursors(sidecarId: sidecarId, sequence: r.sequence, db: db) where priorHash == nil {
                        sameSequence.reset()
                        sameSequence.bind(1, stored)
                        sameSequence.bind(2, sidecarId)
                        sameSequence.bind(3, r.sequence)
                        if try sameSequence.step(), sameSequence.text(0) == r.recordId {
                            priorHash = sameSequence.text(1)
                            // Bytes that hash to their claim are the claimed record; others (an
                            // edited line) are a retransmission only of the very line stored.
                            sameBytes = r.computedHash == r.claimedHash || sameSequence.bytes(2, equal: r.line)
                        }
                        sameSequence.reset()
                    }
                    if let priorHash {
                        // A true retransmission: the same hash and the same bytes (an edited
                        // copy claiming the stored hash is evidence, not a duplicate).
                        if priorHash == r.claimedHash, sameBytes {
                            outcome.duplicates += 1
                        } else {
                            findings.append((IntegrityFinding(
                                kind: .conflictingDuplicate, sidecarId: sidecarId, sequence: r.sequence, recordId: r.recordId,
                                detail: priorHash == r.claimedHash
                                    ? "record \(r.sequence) (id \(r.recordId)) arrived again claiming the stored hash \(priorHash.prefix(12))…, but its bytes hash to \(r.computedHash.prefix(12))…: it was edited; the stored record is kept, and this line is kept as evidence"
                                    : "record \(r.sequence) (id \(r.recordId)) arrived again with hash \(r.claimedHash.prefix(12))…, but the stored one has hash \(priorHash.prefix(12))…: the stored record is kept, and this line is kept as evidence"),
                                r.line))
                        }
                        continue
                    }
                }
                cursor += 1
                insertRecord.reset()
                insertRecord.bind(1, cursor)
                insertRecord.bind(2, r.recordId)
                insertRecord.bind(3, r.sidecarId)
                insertRecord.bind(4, r.sequence)
                insertRecord.bind(5, r.claimedHash)
                insertRecord.bind(6, r.timeMillis)
                insertRecord.bind(7, r.agentId)
                insertRecord.bind(8, r.taskId)
                insertRecord.bind(9, r.event)
                insertRecord.bind(10, r.decision)
                insertRecord.bind(11, bytes: r.line)
                try insertRecord.run()
                outcome.accepted += 1
                outcome.lastCursor = cursor
                runs.add(sidecarId: r.sidecarId, sequence: r.sequence, cursor: cursor)
                zones.add(record: recordIndex, cursor: cursor, time: r.timeMillis)
                rollup.add(record: recordIndex)
                for finding in verifier.admit(r) { findings.append((finding, nil)) }
                if r.sidecarId == sidecarId { storedSequence = max(storedSequence, r.sequence) }
            case .checkpoint(let checkpoint, let line):
                outcome.checkpoints += 1
                guard checkpoint.sidecarId == sidecarId else {
                    findings.append((IntegrityFinding(kind: .malformed, sidecarId: sidecarId, sequence: checkpoint.sequence,
                                                      detail: "checkpoint names sidecar \(checkpoint.sidecarId)"), line))
                    continue
                }
                try db.execute(sql: """
                    INSERT OR IGNORE INTO checkpoints (sidecar_id, sequence, hash, time, public_key, signature, received_ms, line)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [sidecarId, checkpoint.sequence, checkpoint.hash, checkpoint.time, checkpoint.publicKey,
                                     checkpoint.signature, now, Data(line)])
                guard db.changesCount == 1 else { continue } // held already: checked when it first arrived
                try runs.flush(db)
                let storedHash = try storedHash(sidecarId: sidecarId, sequence: checkpoint.sequence, db: db)
                let problems = ChainVerifier(sidecarId: sidecarId).check(checkpoint, registeredKey: registeredKey, storedHash: storedHash)
                for finding in problems { findings.append((finding, line)) }
            }
        }

        if outcome.accepted > 0 {
            try runs.flush(db)
            try zones.write(db)
            try rollup.write(db)
            try db.execute(sql: """
                INSERT INTO collector_meta (key, value) VALUES ('cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """, arguments: [cursor])
        }
        outcome.findings = try insertFindings(findings, at: now, db: db)
        outcome.throughSequence = highest ?? storedSequence
        let head = verifier.head
        try db.execute(sql: """
            INSERT INTO sidecars (sidecar_id, head_sequence, head_hash, stored_sequence, last_seen_ms) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (sidecar_id) DO UPDATE SET head_sequence = excluded.head_sequence, head_hash = excluded.head_hash,
                stored_sequence = excluded.stored_sequence, last_seen_ms = max(coalesce(last_seen_ms, 0), excluded.last_seen_ms),
                end_kind = CASE WHEN ? > 0 THEN NULL ELSE end_kind END, end_ms = CASE WHEN ? > 0 THEN NULL ELSE end_ms END,
                end_by = CASE WHEN ? > 0 THEN NULL ELSE end_by END, end_reason = CASE WHEN ? > 0 THEN NULL ELSE end_reason END
            """, arguments: [sidecarId, head.lastSequence, head.lastHash, storedSequence, now,
                             outcome.accepted, outcome.accepted, outcome.accepted, outcome.accepted])
        try db.execute(sql: """
            INSERT INTO batches (sidecar_id, received_ms, last_cursor, accepted, duplicates, findings) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [sidecarId, now, outcome.accepted > 0 ? outcome.lastCursor : nil, outcome.accepted,
                             outcome.duplicates, outcome.findings.count])
        return outcome
    }

    /// The hash of the first stored record at `sequence` (the one the chain holds).
    static func storedHash(sidecarId: String, sequence: Int64, db: Database) throws -> String? {
        let statement = try db.cachedStatement(sql: "SELECT hash FROM records WHERE cursor = ? AND sidecar_id = ? AND sequence = ?")
        for cursor in try RecordRuns.cursors(sidecarId: sidecarId, sequence: sequence, db: db) {
            if let hash = try String.fetchOne(statement, arguments: [cursor, sidecarId, sequence]) { return hash }
        }
        return nil
    }

    static func insertFindings(_ findings: [(IntegrityFinding, [UInt8]?)], at now: Int64, db: Database) throws -> [StoredFinding] {
        guard !findings.isEmpty else { return [] }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO findings (kind, sidecar_id, sequence, record_id, detail, found_ms, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        var stored: [StoredFinding] = []
        for (finding, evidence) in findings {
            try insert.execute(arguments: [finding.kind.rawValue, finding.sidecarId, finding.sequence, finding.recordId,
                                           finding.detail, now, evidence.map { Data($0) }])
            stored.append(StoredFinding(id: db.lastInsertedRowID, finding: finding, foundAt: now, evidence: evidence))
        }
        return stored
    }

    public func addFindings(_ findings: [IntegrityFinding], evidence: [UInt8]?, at now: Int64) throws(CollectorStoreError) -> [StoredFinding] {
        try write("store findings") { db in try Self.insertFindings(findings.map { ($0, evidence) }, at: now, db: db) }
    }
}
