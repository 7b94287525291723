import GRDB

/// The `record_blocks` rows one batch touches, gathered in memory and
/// written once at the end of the batch.
///
/// Why: a batch of 1,000 records comes from one sidecar, and usually names
/// one agent and task, one time range, a few actions, decisions and resource
/// heads, so the zone map costs a handful of upserts per batch instead of an
/// index entry per record (see the schema for the measurements).
struct RecordZones {
    enum Kind: String, CaseIterable {
        case time
        case action
        case resource
        case sidecar
        case agent
        case task
        case decision
        case event

        var slot: Int {
            switch self {
            case .time: 0
            case .action: 1
            case .resource: 2
            case .sidecar: 3
            case .agent: 4
            case .task: 5
            case .decision: 6
            case .event: 7
            }
        }
    }

    private struct Key: Hashable {
        let kind: Kind
        let value: String
        let block: Int64
    }

    private struct Entry {
        let key: Key
        var min: Int64?
        var max: Int64?
    }

    private var zones: [Key: (min: Int64?, max: Int64?)] = [:]
    /// The last value noted per kind, merged into `zones` when another value
    /// (or block) of its kind comes: consecutive records mostly repeat their
    /// values, and this skips hashing them (about 1 µs per record).
    private var recent = [Entry?](repeating: nil, count: Kind.allCases.count)

    /// Notes every value of `r` that a query can filter on.
    mutating func add(_ r: IngestRecord, cursor: Int64) {
        let time = r.timeMillis
        add(.time, "", cursor: cursor, time: time)
        add(.sidecar, r.sidecarId, cursor: cursor, time: time)
        if let agent = r.agentId { add(.agent, agent, cursor: cursor, time: time) }
        if let task = r.taskId { add(.task, task, cursor: cursor, time: time) }
        add(.decision, r.decision, cursor: cursor, time: time)
        add(.event, r.event, cursor: cursor, time: time)
        for grant in r.grants {
            add(.action, grant.action, cursor: cursor, time: time)
            for resource in grant.resources where !resource.isEmpty {
                add(.resource, SQLiteCollectorStore.resourceHead(resource), cursor: cursor, time: time)
            }
        }
    }

    mutating func add(_ kind: Kind, _ value: String, cursor: Int64, time: Int64?) {
        let block = cursor / SQLiteCollectorStore.blockSize
        let slot = kind.slot
        if var entry = recent[slot] {
            if entry.key.block == block, entry.key.value == value {
                entry.min = Self.pick(entry.min, time, min)
                entry.max = Self.pick(entry.max, time, max)
                recent[slot] = entry
                return
            }
            merge(entry)
        }
        recent[slot] = Entry(key: Key(kind: kind, value: value, block: block), min: time, max: time)
    }

    private mutating func merge(_ entry: Entry) {
        if let old = zones[entry.key] {
            zones[entry.key] = (Self.pick(old.min, entry.min, min), Self.pick(old.max, entry.max, max))
        } else {
            zones[entry.key] = (entry.min, entry.max)
        }
    }

    private static func pick(_ a: Int64?, _ b: Int64?, _ f: (Int64, Int64) -> Int64) -> Int64? {
        guard let a else { return b }
        guard let b else { return a }
        return f(a, b)
    }

    /// Merges the gathered zones into `record_blocks`.
    mutating func write(_ db: Database) throws {
        for slot in recent.indices {
            if let entry = recent[slot] { merge(entry) }
            recent[slot] = nil
        }
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
