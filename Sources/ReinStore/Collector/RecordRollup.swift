import GRDB

/// Daily counts per (agent, task, event, decision, key kind, broker source,
/// forwarded), gathered per batch in memory and merged into `record_rollup`
/// once at the end of it.
///
/// Why: a framework report over a month of a million records must not scan
/// them (the report target is 3 s over 1M records); it reads these counts,
/// and only a few sample records through the zone map.
struct RecordRollup {
    struct Key: Hashable {
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

    private var counts: [Key: Int64] = [:]
    /// The key of the last record and how many in a row had it: consecutive
    /// records mostly share their key, and comparing is cheaper than hashing.
    private var run: (key: Key, count: Int64)?

    mutating func add(_ r: IngestRecord) {
        let day = (r.timeMillis ?? 0) / Self.dayMs * Self.dayMs
        let key = Key(day: day, agentId: r.agentId ?? "", taskId: r.taskId ?? "", event: r.event, decision: r.decision,
                      keyKind: r.accessKeyKind ?? "", broker: r.brokerSource ?? "", forwarded: r.forwarded)
        if let run, run.key == key {
            self.run = (key, run.count + 1)
            return
        }
        if let run { counts[run.key, default: 0] += run.count }
        run = (key, 1)
    }

    mutating func write(_ db: Database) throws {
        if let run { counts[run.key, default: 0] += run.count }
        run = nil
        guard !counts.isEmpty else { return }
        let upsert = try SQLiteRawStatement("""
            INSERT INTO record_rollup (day, agent_id, task_id, event, decision, key_kind, broker, forwarded, count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (day, agent_id, task_id, event, decision, key_kind, broker, forwarded) DO UPDATE SET count = count + excluded.count
            """, db: db)
        for (k, n) in counts {
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
