import Foundation

/// The zone-map values and the rollup key of every record of one batch,
/// numbered per batch when the batch is parsed.
///
/// Why: the single ingest writer used to find each record's values among
/// the batch's earlier ones itself (``RecordZones``, ``RecordRollup``),
/// about a seventh of its time in a profile of 8 concurrent batches, while
/// the store is bound by that one thread. Finding them needs no database,
/// so it happens where the batch is parsed, on any thread and in parallel;
/// the writer then only widens the time range of a numbered value in the
/// record's block and counts a numbered key.
///
/// Why lists before dictionaries: a batch comes from one sidecar, and its
/// records mostly repeat the last record's values, so each value is
/// compared with the last one of its kind first, then with the kind's few
/// others; a kind with more than ``listLimit`` distinct values (object ARNs
/// shorter than a resource head, say) gets a dictionary.
struct IngestKeys: Sendable {
    struct ZoneValue: Sendable, Equatable {
        let kind: RecordZones.Kind
        let value: String
    }

    static let listLimit = 16

    /// The batch's distinct zone values; an id is an index here.
    private(set) var zoneValues: [ZoneValue] = []
    /// Every record's zone value ids, one record after the other.
    private var zoneIds: [Int32] = []
    /// Where each record's ids start in `zoneIds` (one more entry than records).
    private var zoneStarts: [Int] = [0]
    /// The batch's distinct rollup keys; an id is an index here.
    private(set) var rollupKeys: [RecordRollup.Key] = []
    /// Each record's rollup key id.
    private(set) var rollupIds: [Int32] = []

    // Only while building.
    private var byKind = [[Int32]](repeating: [], count: RecordZones.Kind.allCases.count)
    private var lastOfKind = [Int32](repeating: -1, count: RecordZones.Kind.allCases.count)
    private var indexes = [[String: Int32]?](repeating: nil, count: RecordZones.Kind.allCases.count)
    private var rollupIndex: [RecordRollup.Key: Int32] = [:]

    /// Numbers the values of `records`, in order.
    init(records: some Sequence<IngestRecord>) {
        for r in records { add(r) }
        finish()
    }

    /// The zone value ids of the `index`-th record (0-based, counting only records).
    func zoneIds(ofRecord index: Int) -> ArraySlice<Int32> {
        zoneIds[zoneStarts[index]..<zoneStarts[index + 1]]
    }

    var recordCount: Int { rollupIds.count }

    /// Numbers every value of `r` that a query can filter on, and its rollup key.
    private mutating func add(_ r: IngestRecord) {
        zone(.time, "")
        zone(.sidecar, r.sidecarId)
        if let agent = r.agentId { zone(.agent, agent) }
        if let task = r.taskId { zone(.task, task) }
        zone(.decision, r.decision)
        zone(.event, r.event)
        for grant in r.grants {
            zone(.action, grant.action)
            for resource in grant.resources where !resource.isEmpty {
                let length = SQLiteCollectorStore.resourceHeadLength(resource)
                intern(.resource, matches: { $0.utf8.count == length && Self.samePrefix($0, resource, length) },
                       make: { String(decoding: resource.utf8.prefix(length), as: UTF8.self) })
            }
        }
        zoneStarts.append(zoneIds.count)

        let day = (r.timeMillis ?? 0) / RecordRollup.dayMs * RecordRollup.dayMs
        let key = RecordRollup.Key(day: day, agentId: r.agentId ?? "", taskId: r.taskId ?? "", event: r.event,
                                   decision: r.decision, keyKind: r.accessKeyKind ?? "", broker: r.brokerSource ?? "",
                                   forwarded: r.forwarded)
        if let last = rollupIds.last, rollupKeys[Int(last)] == key {
            rollupIds.append(last)
        } else if let id = rollupIndex[key] {
            rollupIds.append(id)
        } else {
            let id = Int32(rollupKeys.count)
            rollupKeys.append(key)
            rollupIndex[key] = id
            rollupIds.append(id)
        }
    }

    /// Drops what only building needed.
    private mutating func finish() {
        byKind = []
        lastOfKind = []
        indexes = []
        rollupIndex = [:]
    }

    private mutating func zone(_ kind: RecordZones.Kind, _ value: String) {
        intern(kind, matches: { $0 == value }, make: { value })
    }

    /// Appends the id of the value `matches` accepts (numbering `make()` when
    /// it is new) to the current record's ids.
    private mutating func intern(_ kind: RecordZones.Kind, matches: (String) -> Bool, make: () -> String) {
        let slot = kind.slot
        let last = lastOfKind[slot]
        if last >= 0, matches(zoneValues[Int(last)].value) {
            zoneIds.append(last)
            return
        }
        if let index = indexes[slot] {
            let value = make()
            if let id = index[value] {
                use(id, slot)
                return
            }
            let id = number(kind, value)
            indexes[slot]?[value] = id
            return
        }
        for id in byKind[slot] where matches(zoneValues[Int(id)].value) {
            use(id, slot)
            return
        }
        _ = number(kind, make())
        if byKind[slot].count > Self.listLimit {
            var index: [String: Int32] = [:]
            for id in byKind[slot] { index[zoneValues[Int(id)].value] = id }
            indexes[slot] = index
        }
    }

    private mutating func use(_ id: Int32, _ slot: Int) {
        lastOfKind[slot] = id
        zoneIds.append(id)
    }

    private mutating func number(_ kind: RecordZones.Kind, _ value: String) -> Int32 {
        let id = Int32(zoneValues.count)
        zoneValues.append(ZoneValue(kind: kind, value: value))
        byKind[kind.slot].append(id)
        use(id, kind.slot)
        return id
    }

    /// Whether the first `length` bytes of `a` and `b` are equal (memcmp on
    /// native strings: the generic UTF-8 view comparison cost a third of
    /// the writer's time when the writer did this).
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
}
