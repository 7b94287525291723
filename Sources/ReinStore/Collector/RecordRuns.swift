import GRDB

/// Where a sidecar's sequences were stored: `record_runs` rows, each a run
/// of consecutive sequences of one sidecar at consecutive cursors.
///
/// Why runs instead of an index on `(sidecar_id, sequence)`: a sidecar ships
/// its chain in order, so a batch of 1,000 records is usually one run, one
/// row; the index cost about 1.2 µs of writer CPU per record (measured with
/// 1 KB records, batches of 1,000), an eighth of the ingest budget. Lookups
/// by sequence are rare (a re-sent record, a checkpoint, `rein audit verify`)
/// and stay cheap: runs are at most ``maximumLength`` long, so the run that
/// holds a sequence starts at most that far below it.
///
/// A record out of order, a gap or another sidecar's id in the batch starts a
/// new run; a sequence stored twice (a forged or conflicting record) is in
/// two runs, and lookups return both, in cursor order.
struct RecordRuns {
    struct Run: Equatable {
        var sidecarId: String
        var firstSequence: Int64
        var lastSequence: Int64
        var firstCursor: Int64

        func cursor(of sequence: Int64) -> Int64 { firstCursor + (sequence - firstSequence) }
    }

    static let maximumLength: Int64 = 16_384

    private var open: Run?
    private var closed: [Run] = []

    /// Notes that `sequence` of `sidecarId` was stored at `cursor`.
    mutating func add(sidecarId: String, sequence: Int64, cursor: Int64) {
        if var run = open, run.sidecarId == sidecarId, sequence == run.lastSequence + 1,
           run.cursor(of: sequence) == cursor, sequence - run.firstSequence < Self.maximumLength {
            run.lastSequence = sequence
            open = run
            return
        }
        if let run = open { closed.append(run) }
        open = Run(sidecarId: sidecarId, firstSequence: sequence, lastSequence: sequence, firstCursor: cursor)
    }

    /// Writes what was gathered, so that lookups in the same transaction see it.
    mutating func flush(_ db: Database) throws {
        if let run = open { closed.append(run) }
        open = nil
        guard !closed.isEmpty else { return }
        let insert = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO record_runs (sidecar_id, first_sequence, first_cursor, last_sequence) VALUES (?, ?, ?, ?)
            """)
        for run in closed {
            try insert.execute(arguments: [run.sidecarId, run.firstSequence, run.firstCursor, run.lastSequence])
        }
        closed.removeAll(keepingCapacity: true)
    }

    /// The cursors at which `sequence` of `sidecarId` was stored, oldest first.
    static func cursors(sidecarId: String, sequence: Int64, db: Database) throws -> [Int64] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT first_sequence, first_cursor FROM record_runs
            WHERE sidecar_id = ? AND first_sequence BETWEEN ? AND ? AND last_sequence >= ?
            """), arguments: [sidecarId, sequence - maximumLength + 1, sequence, sequence])
        return rows.map { row -> Int64 in (row[1] as Int64) + (sequence - (row[0] as Int64)) }.sorted()
    }

    /// The cursor ranges holding sequences `first...last` of `sidecarId`,
    /// in cursor order, adjacent ranges merged.
    static func cursorRanges(sidecarId: String, first: Int64, last: Int64, db: Database) throws -> [ClosedRange<Int64>] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT first_sequence, first_cursor, last_sequence FROM record_runs
            WHERE sidecar_id = ? AND first_sequence BETWEEN ? AND ? AND last_sequence >= ?
            """, arguments: [sidecarId, first - maximumLength + 1, last, first])
        let ranges: [ClosedRange<Int64>] = rows.map { row in
            let run = Run(sidecarId: sidecarId, firstSequence: row[0], lastSequence: row[2], firstCursor: row[1])
            return run.cursor(of: max(first, run.firstSequence))...run.cursor(of: min(last, run.lastSequence))
        }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<Int64>] = []
        for range in ranges {
            if let previous = merged.last, range.lowerBound <= previous.upperBound + 1 {
                merged[merged.count - 1] = previous.lowerBound...max(previous.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }

    /// Forgets cursors up to `high` (retention): runs wholly below go, a run
    /// it splits keeps its upper part.
    static func trim(through high: Int64, db: Database) throws {
        try db.execute(sql: "DELETE FROM record_runs WHERE first_cursor + (last_sequence - first_sequence) <= ?", arguments: [high])
        try db.execute(sql: """
            UPDATE OR REPLACE record_runs SET first_sequence = first_sequence + (? + 1 - first_cursor), first_cursor = ? + 1
            WHERE first_cursor <= ?
            """, arguments: [high, high, high])
    }

    static let createSQL = """
        CREATE TABLE record_runs (
            sidecar_id TEXT NOT NULL,
            first_sequence INTEGER NOT NULL,
            first_cursor INTEGER NOT NULL,
            last_sequence INTEGER NOT NULL,
            PRIMARY KEY (sidecar_id, first_sequence, first_cursor)
        ) WITHOUT ROWID;
        """

    /// Builds the runs of records stored before `record_runs` existed.
    static func backfill(_ db: Database) throws {
        var runs = RecordRuns()
        let rows = try Row.fetchCursor(db, sql: "SELECT cursor, sidecar_id, sequence FROM records ORDER BY cursor")
        while let row = try rows.next() { runs.add(sidecarId: row[1], sequence: row[2], cursor: row[0]) }
        try runs.flush(db)
    }
}
