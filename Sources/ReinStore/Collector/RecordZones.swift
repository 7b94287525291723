import GRDB

/// The `record_blocks` rows one batch touches, gathered in memory and
/// written once at the end of the batch.
///
/// Why: a batch of 1,000 records usually names one time range, a few
/// actions and a few resource heads, so the zone map costs a handful of
/// upserts per batch instead of an index entry per record.
struct RecordZones {
    enum Kind: String {
        case time
        case action
        case resource
    }

    private struct Key: Hashable {
        let kind: Kind
        let value: String
        let block: Int64
    }

    private var zones: [Key: (min: Int64?, max: Int64?)] = [:]

    mutating func add(_ kind: Kind, _ value: String, cursor: Int64, time: Int64?) {
        let key = Key(kind: kind, value: value, block: cursor / SQLiteCollectorStore.blockSize)
        if let old = zones[key] {
            zones[key] = (Self.pick(old.min, time, min), Self.pick(old.max, time, max))
        } else {
            zones[key] = (time, time)
        }
    }

    private static func pick(_ a: Int64?, _ b: Int64?, _ f: (Int64, Int64) -> Int64) -> Int64? {
        guard let a else { return b }
        guard let b else { return a }
        return f(a, b)
    }

    /// Merges the gathered zones into `record_blocks`.
    func write(_ db: Database) throws {
        guard !zones.isEmpty else { return }
        let upsert = try SQLiteRawStatement("""
            INSERT INTO record_blocks (kind, value, block, min_time, max_time) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, value, block) DO UPDATE SET
                min_time = CASE WHEN min_time IS NULL THEN excluded.min_time WHEN excluded.min_time IS NULL THEN min_time
                                ELSE min(min_time, excluded.min_time) END,
                max_time = CASE WHEN max_time IS NULL THEN excluded.max_time WHEN excluded.max_time IS NULL THEN max_time
                                ELSE max(max_time, excluded.max_time) END
            """, db: db)
        for (key, range) in zones {
            upsert.reset()
            upsert.bind(1, key.kind.rawValue)
            upsert.bind(2, key.value)
            upsert.bind(3, key.block)
            upsert.bind(4, range.min)
            upsert.bind(5, range.max)
            try upsert.run()
        }
    }
}
