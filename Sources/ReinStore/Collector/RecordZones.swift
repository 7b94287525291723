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
/// Why numbered values: this runs for every record on the single writer
/// thread, and finding each value among the batch's earlier ones cost a
/// seventh of its time. ``IngestKeys`` numbers the values when the batch is
/// parsed; here a value's id leads straight to its entry for the current
/// block (cursors only grow within a batch, so a value's entries are made
/// in block order and only the last one can still widen).
struct RecordZones {
    enum Kind: String, CaseIterable, Sendable {
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
        let id: Int32
        let block: Int64
        var min: Int64?
        var max: Int64?

        mutating func widen(_ time: Int64?) {
            guard let time else { return }
            min = Swift.min(min ?? time, time)
            max = Swift.max(max ?? time, time)
        }
    }

    private let keys: IngestKeys
    private var entries: [Entry] = []
    /// Per value id, the index in `entries` of its latest entry (-1: none yet).
    private var latest: [Int32]

    init(keys: IngestKeys) {
        self.keys = keys
        latest = [Int32](repeating: -1, count: keys.zoneValues.count)
    }

    /// Notes the values of the `index`-th record of the batch, stored at `cursor`.
    mutating func add(record index: Int, cursor: Int64, time: Int64?) {
        let block = cursor / SQLiteCollectorStore.blockSize
        for id in keys.zoneIds(ofRecord: index) {
            let e = Int(latest[Int(id)])
            if e >= 0, entries[e].block == block {
                entries[e].widen(time)
            } else {
                latest[Int(id)] = Int32(entries.count)
                entries.append(Entry(id: id, block: block, min: time, max: time))
            }
        }
    }

    /// Merges the gathered zones into `record_blocks`.
    func write(_ db: Database) throws {
        guard !entries.isEmpty else { return }
        let upsert = try SQLiteRawStatement("""
            INSERT INTO record_blocks (kind, value, block, min_time, max_time) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (kind, value, block) DO UPDATE SET
                min_time = CASE WHEN min_time IS NULL THEN excluded.min_time WHEN excluded.min_time IS NULL THEN min_time
                                ELSE min(min_time, excluded.min_time) END,
                max_time = CASE WHEN max_time IS NULL THEN excluded.max_time WHEN excluded.max_time IS NULL THEN max_time
                                ELSE max(max_time, excluded.max_time) END
            """, db: db)
        for entry in entries {
            let value = keys.zoneValues[Int(entry.id)]
            upsert.reset()
            upsert.bind(1, value.kind.rawValue)
            upsert.bind(2, value.value)
            upsert.bind(3, entry.block)
            upsert.bind(4, entry.min)
            upsert.bind(5, entry.max)
            try upsert.run()
        }
    }
}
