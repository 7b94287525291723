import GRDB
import ReinAudit

/// The collector's tables.
///
/// - `records`: one row per stored record; `cursor` is the ingest cursor,
///   assigned from a high-water mark in `collector_meta` so that it never
///   goes back, even after retention deleted every record; `line` holds the
///   chained line exactly as shipped; the other columns are copies of its
///   fields, checked per row by queries.
/// - `record_blocks`: a summary per block of ``blockSize`` cursors (a zone
///   map): which values occur in it, with the range of their record times,
///   per (kind, value); kinds are `time` (value ''), `sidecar`, `agent`,
///   `task`, `decision`, `event`, `action` and `resource` (the first
///   ``resourceHeadBytes`` bytes). Every filtered query finds its candidate
///   blocks here, then reads their cursor ranges.
/// - `record_runs` (v3): where each sidecar's sequences are, as runs of
///   consecutive sequences at consecutive cursors (``RecordRuns``).
/// - `checkpoints`, `findings`, `sidecars` (registry, heartbeat facts and
///   the chain head), `batches` (what arrived when: drives retention) and
///   `policy_versions`.
/// - `record_rollup` (v2): daily counts per agent, task, event, decision,
///   key kind, broker source and forwarded, for framework reports.
///
/// Why no secondary index on `records` (v3 dropped those of v1): every
/// B-tree index costs ingest about 1 µs of writer CPU per record on the
/// target machine, and one whose keys arrive in random order (a UUID record
/// id, full S3 object ARNs) dirties about one page per record. Measured with
/// 1 KB records, batches of 1,000, 2 cores: 11.5 µs of writer CPU per record
/// and 70k records/s with the v1 indexes (sidecar and sequence; agent and
/// time; task and time; rare decisions; rare events) and a grants table;
/// 5.9 µs and 113k records/s with none. Records arrive roughly in time order
/// and a batch comes from one sidecar, so zone maps narrow agent, task,
/// time, action and resource filters to a few blocks for a few rows per
/// batch; what they give up is speed for filters on values spread over every
/// block (a first page of `decision=deny` scans until it has found enough).

extension SQLiteCollectorStore {
    /// How much of a resource the `resource` zones of `record_blocks` keep.
    static let resourceHeadBytes = 32

    /// Cursors per `record_blocks` block.
    static let blockSize: Int64 = 1024

    /// The longest prefix of `resource` of at most ``resourceHeadBytes``
    /// bytes that ends on a scalar boundary.
    static func resourceHead(_ resource: String) -> String {
        String(decoding: resource.utf8.prefix(resourceHeadLength(resource)), as: UTF8.self)
    }

    /// The length in bytes of ``resourceHead(_:)``.
    static func resourceHeadLength(_ resource: String) -> Int {
        let utf8 = resource.utf8
        guard utf8.count > resourceHeadBytes else { return utf8.count }
        var end = utf8.index(utf8.startIndex, offsetBy: resourceHeadBytes)
        while end > utf8.startIndex, UTF8.isContinuation(utf8[end]) { end = utf8.index(before: end) }
        return utf8.distance(from: utf8.startIndex, to: end)
    }

    /// New databases use 16 KiB pages: records are about 1 KB and arrive in
    /// order, and larger pages mean fewer WAL frames per commit (measured:
    /// +25% ingest over 4 KiB).
    static let pageSize = 16384

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("collector-v1") { db in
            try db.execute(sql: """
                CREATE TABLE records (
                    cursor INTEGER PRIMARY KEY,
                    record_id TEXT NOT NULL,
                    sidecar_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    hash TEXT NOT NULL,
                    time_ms INTEGER,
                    agent_id TEXT,
                    task_id TEXT,
                    event TEXT NOT NULL,
                    decision TEXT NOT NULL,
                    line BLOB NOT NULL
                );
                CREATE INDEX records_sidecar_sequence ON records(sidecar_id, sequence);
                CREATE INDEX records_agent_time ON records(agent_id, time_ms);
                CREATE INDEX records_task_time ON records(task_id, time_ms);
                CREATE INDEX records_decision ON records(decision) WHERE decision <> 'allow';
                CREATE INDEX records_event ON records(event) WHERE event <> 'call';

                CREATE TABLE record_grants (
                    cursor INTEGER NOT NULL,
                    action TEXT NOT NULL,
                    resource TEXT NOT NULL,
                    PRIMARY KEY (cursor, action, resource)
                ) WITHOUT ROWID;

                CREATE TABLE record_blocks (
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    block INTEGER NOT NULL,
                    min_time INTEGER,
                    max_time INTEGER,
                    PRIMARY KEY (kind, value, block)
                ) WITHOUT ROWID;

                CREATE TABLE collector_meta (
                    key TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                );

                CREATE TABLE checkpoints (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sidecar_id TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    hash TEXT NOT NULL,
                    time TEXT NOT NULL,
                    public_key TEXT NOT NULL,
                    signature TEXT NOT NULL,
                    received_ms INTEGER NOT NULL,
                    line BLOB NOT NULL,
                    UNIQUE (sidecar_id, sequence, signature)
                );

                CREATE TABLE findings (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    sidecar_id TEXT NOT NULL,
                    sequence INTEGER,
                    record_id TEXT,
                    detail TEXT NOT NULL,
                    found_ms INTEGER NOT NULL,
                    evidence BLOB
                );
                CREATE INDEX findings_sidecar ON findings(sidecar_id, id);

                CREATE TABLE sidecars (
                    sidecar_id TEXT PRIMARY KEY,
                    agent_id TEXT,
                    task_id TEXT,
                    public_key TEXT,
                    version TEXT,
                    registered_by TEXT,
                    registered_ms INTEGER,
                    policy_version TEXT,
                    spool_depth INTEGER,
                    spool_bytes INTEGER,
                    reported_sequence INTEGER,
                    ready INTEGER,
                    heartbeat_ms INTEGER,
                    last_seen_ms INTEGER,
                    head_sequence INTEGER NOT NULL DEFAULT 0,
                    head_hash TEXT NOT NULL DEFAULT '\(AuditChain.genesis)',
                    stored_sequence INTEGER NOT NULL DEFAULT 0
                );

                CREATE TABLE batches (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    sidecar_id TEXT NOT NULL,
                    received_ms INTEGER NOT NULL,
                    last_cursor INTEGER,
                    accepted INTEGER NOT NULL,
                    duplicates INTEGER NOT NULL,
                    findings INTEGER NOT NULL
                );
                CREATE INDEX batches_received ON batches(received_ms);

                CREATE TABLE policy_versions (
                    agent_id TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    document TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    author TEXT NOT NULL,
                    time_ms INTEGER NOT NULL,
                    message TEXT NOT NULL,
                    force_reason TEXT,
                    rollback_of INTEGER,
                    PRIMARY KEY (agent_id, version)
                );
                """)
        }
        migrator.registerMigration("collector-v2-rollup") { db in
            try db.execute(sql: RecordRollup.createSQL)
            try db.execute(sql: RecordRollup.backfillSQL)
        }
        migrator.registerMigration("collector-v3-zones") { db in
            try db.execute(sql: RecordRuns.createSQL)
            try RecordRuns.backfill(db)
            for (kind, column) in [("sidecar", "sidecar_id"), ("agent", "agent_id"), ("task", "task_id"),
                                   ("decision", "decision"), ("event", "event")] {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO record_blocks (kind, value, block, min_time, max_time)
                    SELECT '\(kind)', \(column), cursor / \(blockSize), min(time_ms), max(time_ms)
                    FROM records WHERE \(column) IS NOT NULL GROUP BY 2, 3
                    """)
            }
            try db.execute(sql: """
                DROP INDEX records_sidecar_sequence;
                DROP INDEX records_agent_time;
                DROP INDEX records_task_time;
                DROP INDEX records_decision;
                DROP INDEX records_event;
                DROP TABLE record_grants;
                """)
        }
        migrator.registerMigration("collector-v4-clock-skew") { db in
            try db.execute(sql: "ALTER TABLE sidecars ADD COLUMN clock_skew_ms INTEGER")
        }
        migrator.registerMigration("collector-v5-sidecar-end") { db in
            // SidecarEnd: a clean stop or an admin's retirement.
            try db.execute(sql: """
                ALTER TABLE sidecars ADD COLUMN end_kind TEXT;
                ALTER TABLE sidecars ADD COLUMN end_ms INTEGER;
                ALTER TABLE sidecars ADD COLUMN end_by TEXT;
                ALTER TABLE sidecars ADD COLUMN end_reason TEXT;
                """)
        }
        return migrator
    }
}
