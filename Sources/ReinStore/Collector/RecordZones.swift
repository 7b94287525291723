import Foundation
import GRDB

/// The `record_blocks` rows one batch touches, gathered in memory and
/// written once at the end of the batch.
///
/// Why: a batch of 1,000 records comes from one sidecar, and usually names
/// one agent and task, one time range, a few actions, decisions and resource
/// heads, so the zone map costs a handful of upserts per batch instead of an
/// index entry per record (see the schema for the measurements).
///
/// Why per-kind lists rather than one dictionary: this runs for every
/// record and kind on the single writer thread, and hashing each value (and
/// making a `String` of each resource head) cost about half of the writer's
/// time. A kind's values are few, so they are found by comparison, the last
/// one first; a kind with many distinct values in one batch (object ARNs
/// shorter than a head, say) gets a dictionary index after ``listLimit``.
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

    private struct Entry {
        let value: String
        let block: Int64
        var min: Int64?
        var max: Int64?

        mutating func widen(_ time: Int64?) {
            guard let time else { return }
            min = Swift.min(min ?? time, time)
            max = Swift.max(max ?? time, time)
        }
    }

    private struct IndexKey: Hashable {
        let value: String
        let block: Int64
    }

    static let listLimit = 16

    private var entries = [[Entry]](repeating: [], count: Kind.allCases.count)
    private var lastHit = [Int](repeating: 0, count: Kind.allCases.count)
    private var indexes = [[IndexKey: Int]?](repeating: nil, count: Kind.allCases.count)

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
                let length = SQLiteCollectorStore.resourceHeadLength(resource)
                note(Kind.resource.slot, block: cursor / SQLiteCollectorStore.blockSize, time: time,
                     matches: { $0.utf8.count == length && Self.samePrefix($0, resource, length) },
                     make: { String(decoding: resource.utf8.prefix(length), as: UTF8.self) })
            }
        }
    }

    mutating func add(_ kind: Kind, _ value: String, cursor: Int64, time: Int64?) {
        note(kind.slot, block: cursor / SQLiteCollectorStore.blockSize, time: time, matches: { $0 == value }, make: { value })
    }

    private mutating func note(_ slot: Int, block: Int64, time: Int64?, matches: (String) -> Bool, make: () -> String) {
        let last = lastHit[slot]
        if last < entries[slot].count, entries[slot][last].block == block, matches(entries[slot][last].value) {
            entries[slot][last].widen(time)
            return
        }
        if indexes[slot] == nil {
            for i in entries[slot].indices where entries[slot][i].block == block && matches(entries[slot][i].value) {
                entries[slot][i].widen(time)
                lastHit[slot] = i
                return
            }
        } else {
            let value = make()
            if let i = indexes[slot]?[IndexKey(value: value, block: block)] {
                entries[slot][i].widen(time)
                lastHit[slot] = i
                return
            }
            indexes[slot]?[IndexKey(value: value, block: block)] = entries[slot].count
            append(slot, Entry(value: value, block: block, min: time, max: time))
            return
        }
        append(slot, Entry(value: make(), block: block, min: time, max: time))
        if entries[slot].count > Self.listLimit {
            var index: [IndexKey: Int] = [:]
            for (i, e) in entries[slot].enumerated() { index[IndexKey(value: e.value, block: e.block)] = i }
            indexes[slot] = index
        }
    }

    /// Whether the first `length` bytes of `a` and `b` are equal (memcmp on
    /// native strings: the generic UTF-8 view comparison cost a third of
    /// the writer's time).
    private static func samePrefix(_ a: String, _ b: String, _ length: Int) -> Bool {
        let fast = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return length == 0 }
                return memcmp(x, y, length) == 0
            }
        }
        if let fast, let result = fast { return result }
        return a.utf8.prefix(length).elementsEqual(b.utf8.prefix(length))
    }

    private mutating func append(_ slot: Int, _ entry: Entry) {
        entries[slot].append(entry)
        lastHit[slot] = entries[slot].count - 1
    }

    /// Merges the gathered zones into `record_blocks`.
    func write(_ db: Database) throws {
        guard entries.contains(where: { !$0.isEmpty }) else { return }
        let upsert = try SQLiteRawStatement("""
            INSERT INTO record_blocks (kind, value, block, min_time, max_time) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, value, block) DO UPDATE SET
                min_time = CASE WHEN min_time IS NULL THEN excluded.min_time WHEN excluded.min_time IS NULL THEN min_time
                                ELSE min(min_time, excluded.min_time) END,
                max_time = CASE WHEN max_time IS NULL THEN excluded.max_time WHEN excluded.max_time IS NULL THEN max_time
                                ELSE max(max_time, excluded.max_time) END
            """, db: db)
        for kind in Kind.allCases {
            for entry in entries[kind.slot] {
                upsert.reset()
                upsert.bind(1, kind.rawValue)
                upsert.bind(2, entry.value)
                upsert.bind(3, entry.block)
                upsert.bind(4, entry.min)
                upsert.bind(5, entry.max)
                try upsert.run()
            }
        }
    }
}
