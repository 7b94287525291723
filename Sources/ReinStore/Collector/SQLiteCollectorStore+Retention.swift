import GRDB

/// Retention: records go by the time the collector received them, so a
/// sidecar's clock (or a forged `time`) cannot shorten how long they are
/// kept. Findings, checkpoints and chain heads stay, except the fleet entry
/// (and chain head) of a sidecar that ended before the cutoff and has no
/// record left (``forgetEndedSidecars(before:db:)``).
extension SQLiteCollectorStore {
    /// Rows deleted per transaction, so that ingest never waits long for the writer.
    static let retentionChunk: Int64 = 20_000

    public func deleteRecords(receivedBefore cutoff: Int64) throws(CollectorStoreError) -> Int {
        let bound: Int64? = try read("retention") { db in
            try Int64.fetchOne(db, sql: "SELECT max(last_cursor) FROM batches WHERE received_ms < ?", arguments: [cutoff])
        }
        var deleted = 0
        while let bound {
            let n: Int = try write("retention") { db in
                guard let low = try Int64.fetchOne(db, sql: "SELECT min(cursor) FROM records"), low <= bound else { return 0 }
                let high = min(bound, low + Self.retentionChunk - 1)
                // Where each sidecar whose records go now starts: what lies below
                // was removed by retention, not lost (re-verification says so).
                // Only the sequences actually deleted count (a gap that never
                // arrived stays a gap), and the floor moves in the same
                // transaction as the deletion, so that a crash between chunks
                // cannot leave deleted records reading as a gap.
                for row in try Row.fetchAll(db, sql: "SELECT sidecar_id, max(sequence) AS top FROM records WHERE cursor <= ? GROUP BY sidecar_id",
                                            arguments: [high]) {
                    try db.execute(sql: """
                        INSERT INTO collector_meta (key, value) VALUES (?, ?)
                        ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)
                        """, arguments: ["retained_from:" + (row["sidecar_id"] as String), (row["top"] as Int64) + 1])
                }
                try db.execute(sql: "DELETE FROM records WHERE cursor <= ?", arguments: [high])
                let count = db.changesCount
                try RecordRuns.trim(through: high, db: db)
                // Blocks wholly below the bound; a block it splits keeps its (now wider) summary.
                try db.execute(sql: "DELETE FROM record_blocks WHERE block < ?", arguments: [(high + 1) / Self.blockSize])
                return count
            }
            deleted += n
            if n == 0 { break }
        }
        let forgotten: [String] = try write("retention") { db in
            try db.execute(sql: "DELETE FROM batches WHERE received_ms < ?", arguments: [cutoff])
            // Report counts go with the days no record is left for.
            if deleted > 0 {
                let oldest = try Int64.fetchOne(db, sql: "SELECT min(time_ms) FROM records")
                try db.execute(sql: "DELETE FROM record_rollup WHERE day < ?",
                               arguments: [oldest.map { $0 / RecordRollup.dayMs * RecordRollup.dayMs } ?? Int64.max])
            }
            let forgotten = try Self.forgetEndedSidecars(before: cutoff, db: db)
            // Refresh the query planner's statistics now and then (cheap when nothing changed much).
            try db.execute(sql: "PRAGMA optimize")
            return forgotten
        }
        if deleted > 0 { logger.info("retention deleted records", metadata: ["records.deleted": "\(deleted)"]) }
        if !forgotten.isEmpty {
            logger.info("retention forgot sidecars that ended before the cutoff and have no records left", metadata: [
                "sidecars.forgotten": "\(forgotten.count)", "sidecar.ids": "\(forgotten.prefix(20).joined(separator: ","))",
            ])
        }
        return deleted
    }

    /// Removes the fleet entries of sidecars that ended (stopped with
    /// everything shipped, or retired) before `cutoff` and whose records
    /// retention has all deleted (its floor is above the highest stored
    /// sequence); returns their ids. Why: each rollout gives a Kubernetes
    /// fleet new pod names, so new sidecar ids, and without this the fleet
    /// would keep every old one for ever. Their findings stay. The same id
    /// registering later starts afresh (a new key is pinned; a chain that
    /// continues from before is a gap, as nothing here links to it).
    static func forgetEndedSidecars(before cutoff: Int64, db: Database) throws -> [String] {
        let ids = try String.fetchAll(db, sql: """
            SELECT s.sidecar_id FROM sidecars s
            WHERE s.end_kind IS NOT NULL AND s.end_ms < ? AND s.sidecar_id != ?
              AND s.stored_sequence < coalesce((SELECT value FROM collector_meta WHERE key = 'retained_from:' || s.sidecar_id), 1)
            """, arguments: [cutoff, CollectorStoreConstants.collectorChain])
        for id in ids {
            try db.execute(sql: "DELETE FROM sidecars WHERE sidecar_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM collector_meta WHERE key = ?", arguments: ["retained_from:" + id])
        }
        return ids
    }
}
