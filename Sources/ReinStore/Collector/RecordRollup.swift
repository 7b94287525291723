import GRDB

/// Daily counts per (agent, task, event, decision, key kind, broker source,
/// forwarded), gathered per batch in memory and merged into `record_rollup`
/// once at the end of it.
///
/// Why: a framework report over a month of a million records must not scan
/// them (the report target is 3 s over 1M records); it reads these counts,
/// and only a few sample records through the zone map.
struct RecordRollup {
    struct Key: Hashable, Sendable {
        let day: Int64
        let agentId: String
        let taskId: String
        let event: String
        let decision: String
        let keyKind: String
        let broker: String
        let forwarded: Bool
    }

    static let dayMs: Int64 = 86_400_000

    /// The batch's keys, numbered when it was parsed.
    private let keys: IngestKeys
    /// Records counted per key id.
    private var counts: [Int64]

    init(keys: IngestKeys) {
        self.keys = keys
        counts = [Int64](repeating: 0, count: keys.rollupKeys.count)
    }

    /// Counts the `index`-th record of the batch (it was stored).
    mutating func add(record index: Int) {
        counts[Int(keys.rollupIds[index])] += 1
    }

    func write(_ db: Database) throws {
        guard counts.contains(where: { $0 > 0 }) else { return }
        let upsert = try SQLiteRawStatement("""
            INSERT INTO record_rollup (day, agent_id, task_id, event, decision, key_kind, broker, forwarded, count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (day, agent_id, task_id, event, decision, key_kind, broker, forwarded) DO UPDATE SET count = count + excluded.count
            """, db: db)
        for (k, n) in zip(keys.rollupKeys, counts) where n > 0 {
            upsert.reset()
            upsert.bind(1, k.day)
            upsert.bind(2, k.agentId)
            upsert.bind(3, k.taskId)
            upsert.bind(4, k.event)
            upsert.bind(5, k.decision)
            upsert.bind(6, k.keyKind)
            upsert.bind(7, k.broker)
            upsert.bind(8, Int64(k.forwarded ? 1 : 0))
            upsert.bind(9, n)
            try upsert.run()
        }
    }

    static let createSQL = """
        CREATE TABLE record_rollup (
            day INTEGER NOT NULL,
            agent_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            event TEXT NOT NULL,
            decision TEXT NOT NULL,
            key_kind TEXT NOT NULL,
            broker TEXT NOT NULL,
            forwarded INTEGER NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (day, agent_id, task_id, event, decision, key_kind, broker, forwarded)
        ) WITHOUT ROWID;
        """

    /// Fills the rollup from records stored before it existed (JSON1 reads the lines).
    static let backfillSQL = """
        INSERT INTO record_rollup (day, agent_id, task_id, event, decision, key_kind, broker, forwarded, count)
        SELECT coalesce(time_ms, 0) / 86400000 * 86400000, coalesce(agent_id, ''), coalesce(task_id, ''), event, decision,
               coalesce(substr(json_extract(line, '$.access_key_id'), 1, 4), ''), coalesce(json_extract(line, '$.broker_source'), ''),
               coalesce(json_extract(line, '$.forwarded'), 0), count(*)
        FROM records GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        """
}
