import Foundation
import GRDB
import ReinAudit

/// The spool's tables, and what they hold when the spool is opened.
///
/// Why a `meta` row: shipped records are deleted, so the chain head cannot
/// always be read back from the records table. While records are held, the
/// newest one is the head (its sequence and hash), and the newest checkpoint
/// names the last signed sequence; the head is written to `meta` in the
/// same transaction that deletes shipped records, which makes it exactly as
/// durable as what it describes. A restart takes the later of the two and
/// continues the chain where it stopped. (Rewriting `meta` at every commit
/// cost a WAL page per commit.)
///
/// Why a record's row is only its sequence and its line (schema version 2):
/// the record id and the hash are both in the line (the hash is its
/// fixed-length ending, ``ChainedLine/claimedHash(ofLine:)``), and only
/// opening the spool needs one of them, the newest record's hash. Columns
/// of their own (version 1) cost the writer two more bound values and
/// about 100 more bytes per record, on the path every request waits for:
/// dropping them took about 1 µs (3-4%) off the spool's cost per request in
/// interleaved runs. An index on the record id would cost far more: ids are
/// random UUIDs, so it would rewrite a random B-tree page per record in
/// every commit.
///
/// Why checkpoints have their own increasing id: a time-based checkpoint
/// can name a record that is already in a batch on its way to the
/// collector. Acknowledging that batch must not delete a checkpoint the
/// batch did not carry, so acknowledgement is bounded by the highest
/// checkpoint id handed out, not only by sequence.
enum SpoolSchema {
    static let version = 2

    /// Creates the tables, or brings an older spool's up to this version.
    /// A spool a newer Rein wrote (a rollback on the same state directory)
    /// is refused as it is: its rows may be in a form this one misreads.
    static func create(_ db: Database, path: String) throws {
        if try db.tableExists("meta"), let stored = try Int.fetchOne(db, sql: "SELECT schema_version FROM meta WHERE id = 1"), stored > version {
            throw SQLiteStore.NewerSchema(path: path, unknownSteps: ["spool schema version \(stored) (this version writes \(version))"])
        }
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS records (
                seq INTEGER PRIMARY KEY,
                line BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS intents (
                id INTEGER PRIMARY KEY,
                record_id TEXT NOT NULL,
                line BLOB NOT NULL,
                created TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS checkpoints (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                seq INTEGER NOT NULL UNIQUE,
                line BLOB NOT NULL
            );
            CREATE TABLE IF NOT EXISTS meta (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                schema_version INTEGER NOT NULL,
                sidecar_id TEXT NOT NULL,
                last_sequence INTEGER NOT NULL,
                last_hash TEXT NOT NULL,
                checkpoint_sequence INTEGER NOT NULL DEFAULT 0
            );
            """)
        // Version 1 kept each record's id and hash in columns of their own.
        let columns = try db.columns(in: "records").map(\.name)
        for dropped in ["record_id", "hash"] where columns.contains(dropped) {
            try db.execute(sql: "ALTER TABLE records DROP COLUMN \(dropped)")
        }
        try db.execute(sql: "UPDATE meta SET schema_version = ? WHERE schema_version < ?", arguments: [version, version])
    }

    /// What is stored: the head and the sizes the cap counts.
    struct Contents {
        var sidecarId: String?
        var chain = AuditChain()
        var records: Int64 = 0
        var recordBytes: Int64 = 0
        var intents: Int64 = 0
        var intentBytes: Int64 = 0
        var checkpoints: Int64 = 0
        var checkpointBytes: Int64 = 0
        /// The sequence the newest checkpoint named (shipped or not; 0: none yet).
        var lastCheckpointSequence: Int64 = 0

        var isEmpty: Bool { records == 0 && intents == 0 && checkpoints == 0 }
        var bytes: Int64 { recordBytes + intentBytes + checkpointBytes }
    }

    static func load(_ db: Database) throws -> Contents {
        var c = Contents()
        if let row = try Row.fetchOne(db, sql: "SELECT sidecar_id, last_sequence, last_hash, checkpoint_sequence FROM meta WHERE id = 1") {
            c.sidecarId = row["sidecar_id"]
            c.chain = AuditChain(lastSequence: row["last_sequence"], lastHash: row["last_hash"])
            c.lastCheckpointSequence = row["checkpoint_sequence"]
        }
        func sizes(_ table: String) throws -> (Int64, Int64) {
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*), COALESCE(SUM(LENGTH(line)), 0) FROM \(table)")
            return (row?[0] ?? 0, row?[1] ?? 0)
        }
        if let newest = try Row.fetchOne(db, sql: "SELECT seq, line FROM records ORDER BY seq DESC LIMIT 1"),
           (newest["seq"] as Int64) > c.chain.lastSequence {
            c.chain = AuditChain(lastSequence: newest["seq"], lastHash: headHash(ofLine: [UInt8](newest["line"] as Data)))
        }
        if let signed = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM checkpoints"), signed > c.lastCheckpointSequence {
            c.lastCheckpointSequence = signed
        }
        (c.records, c.recordBytes) = try sizes("records")
        (c.intents, c.intentBytes) = try sizes("intents")
        (c.checkpoints, c.checkpointBytes) = try sizes("checkpoints")
        return c
    }

    /// The hash the chain continues from after `line` (newline-terminated,
    /// as stored): the hash it claims. A line altered so that it claims none
    /// still gets a successor: the hash of its bytes, so the chain goes on and
    /// the collector flags the break at that record.
    static func headHash(ofLine line: [UInt8]) -> String {
        let body = line.last == UInt8(ascii: "\n") ? Array(line.dropLast()) : line
        return (try? ChainedLine.claimedHash(ofLine: body)) ?? AuditChain.hash(of: line)
    }

    /// Writes the chain head, whose chain it is, and what the last checkpoint named.
    static func saveHead(_ db: Database, sidecarId: String, chain: AuditChain, checkpointSequence: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO meta (id, schema_version, sidecar_id, last_sequence, last_hash, checkpoint_sequence) VALUES (1, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET sidecar_id = excluded.sidecar_id, last_sequence = excluded.last_sequence,
                last_hash = excluded.last_hash, checkpoint_sequence = excluded.checkpoint_sequence
            """).execute(arguments: [version, sidecarId, chain.lastSequence, chain.lastHash, checkpointSequence])
    }

    /// The intents a crash left behind, oldest first.
    static func intents(_ db: Database) throws -> [(id: Int64, recordId: String, line: [UInt8])] {
        try Row.fetchAll(db, sql: "SELECT id, record_id, line FROM intents ORDER BY id").map { row in
            (row["id"], row["record_id"], [UInt8](row["line"] as Data))
        }
    }
}
