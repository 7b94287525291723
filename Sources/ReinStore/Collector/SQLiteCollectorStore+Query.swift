import Foundation
import GRDB
import ReinAudit

/// Reading records and findings.
///
/// Queries run in one read transaction: the newest cursor is read first and
/// bounds the scan, so the returned next cursor never skips a record that
/// committed meanwhile. How rows are found depends on the filters:
/// - a tail (few records after `after`), or no filter the zone map knows:
///   the cursor range, every filter checked per row;
/// - otherwise the blocks of `record_blocks` that can hold matches (each
///   filter narrows the set; time bounds apply to each value's own time
///   range in the block), scanned in cursor order with every filter checked
///   per row. Actions and resource prefixes are checked on the record's
///   grants, read from its line.
extension SQLiteCollectorStore {
    public func records(_ query: RecordQuery) throws(CollectorStoreError) -> RecordPage {
        try read("query records") { db in
            let newest = try Self.newestCursor(db)
            let limit = min(max(query.limit, 1), RecordQuery.maximumLimit)
            var records: [RecordPage.Record] = []
            var ranges: [ClosedRange<Int64>] = query.after < newest ? [(query.after + 1)...newest] : []
            if newest - query.after > tailSpan, let candidates = try Self.candidateRanges(query, newest: newest, db: db) {
                ranges = candidates
            }
            let filter = RecordFilter(query)
            for range in ranges {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT cursor, line, sidecar_id, sequence FROM records WHERE cursor BETWEEN ? AND ?\(filter.sql) ORDER BY cursor
                    """, arguments: [range.lowerBound, range.upperBound] + filter.arguments)
                while records.count < limit, let row = try rows.next() {
                    let record = Self.record(row)
                    if filter.checksGrants, !filter.grantsMatch(record.line) { continue }
                    records.append(record)
                }
                if records.count == limit { break }
            }
            // A short page examined everything up to `newest`.
            let next = records.count == limit ? records[records.count - 1].cursor : newest
            return RecordPage(records: records, nextCursor: max(next, query.after))
        }
    }

    static func record(_ row: Row) -> RecordPage.Record {
        RecordPage.Record(cursor: row[0], line: (row[1] as Data?).map { [UInt8]($0) } ?? [], sidecarId: row[2], sequence: row[3])
    }

    /// The cursor ranges (whole blocks, adjacent blocks merged) that can hold
    /// records matching the query, or nil when no filter narrows by block.
    static func candidateRanges(_ query: RecordQuery, newest: Int64, db: Database) throws -> [ClosedRange<Int64>]? {
        let first = (query.after + 1) / blockSize
        let last = newest / blockSize
        func blocks(_ condition: String, _ arguments: StatementArguments) throws -> Set<Int64> {
            var sql = "SELECT block FROM record_blocks WHERE \(condition) AND block BETWEEN ? AND ?"
            var args = arguments + [first, last]
            if let since = query.since {
                sql += " AND max_time >= ?"
                args += [since]
            }
            if let until = query.until {
                sql += " AND min_time < ?"
                args += [until]
            }
            return Set(try Int64.fetchAll(db, sql: sql, arguments: args))
        }
        var candidates: Set<Int64>?
        func narrow(_ found: Set<Int64>) { candidates = candidates.map { $0.intersection(found) } ?? found }
        for (kind, value) in [(RecordZones.Kind.sidecar, query.sidecarId), (.agent, query.agentId), (.task, query.taskId),
                              (.decision, query.decision), (.event, query.event), (.action, query.action)] {
            if let value { narrow(try blocks("kind = ? AND value = ?", [kind.rawValue, value])) }
        }
        if candidates == nil, query.since != nil || query.until != nil { narrow(try blocks("kind = 'time' AND value = ''", [])) }
        if let prefix = query.resourcePrefix, !prefix.isEmpty {
            let head = resourceHead(prefix)
            if head == prefix {
                // Every resource with this prefix has a head with this prefix.
                if let upper = upperBound(ofPrefix: prefix) {
                    narrow(try blocks("kind = 'resource' AND value >= ? AND value < ?", [prefix, upper]))
                } else {
                    narrow(try blocks("kind = 'resource' AND value >= ?", [prefix]))
                }
            } else {
                narrow(try blocks("kind = 'resource' AND value = ?", [head]))
            }
        }
        guard let candidates else { return nil }
        var ranges: [ClosedRange<Int64>] = []
        for block in candidates.sorted() {
            let low = max(block * blockSize, query.after + 1)
            let high = min(block * blockSize + blockSize - 1, newest)
            guard low <= high else { continue }
            if let previous = ranges.last, previous.upperBound + 1 == low {
                ranges[ranges.count - 1] = previous.lowerBound...high
            } else {
                ranges.append(low...high)
            }
        }
        return ranges
    }

    /// The WHERE terms (after the cursor bounds) for a query's column
    /// filters, and the check of its action and resource filters on a line.
    struct RecordFilter {
        var sql = ""
        var arguments: StatementArguments = []
        let action: String?
        let resourcePrefix: String?

        init(_ query: RecordQuery) {
            action = query.action
            resourcePrefix = query.resourcePrefix.flatMap { $0.isEmpty ? nil : $0 }
            func equal(_ column: String, _ value: String?) {
                guard let value else { return }
                sql += " AND \(column) = ?"
                arguments += [value]
            }
            equal("sidecar_id", query.sidecarId)
            equal("agent_id", query.agentId)
            equal("task_id", query.taskId)
            equal("decision", query.decision)
            equal("event", query.event)
            if let since = query.since {
                sql += " AND time_ms >= ?"
                arguments += [since]
            }
            if let until = query.until {
                sql += " AND time_ms < ?"
                arguments += [until]
            }
        }

        var checksGrants: Bool { action != nil || resourcePrefix != nil }

        /// Whether one of the line's grants names the action, and one (the
        /// same or another) a resource with the prefix, as the v1 grants
        /// table matched. A line that cannot be read matches nothing.
        func grantsMatch(_ line: [UInt8]) -> Bool {
            guard let grants = IngestRecord.grants(ofLine: line) else { return false }
            if let action, !grants.contains(where: { $0.action == action }) { return false }
            if let prefix = resourcePrefix, !grants.contains(where: { $0.resources.contains { $0.utf8.starts(with: prefix.utf8) } }) { return false }
            return true
        }
    }

    public func latestCursor() throws(CollectorStoreError) -> Int64 {
        try read("latest cursor") { db in try Self.newestCursor(db) }
    }

    /// The newest cursor ever handed out: the high-water mark kept in
    /// `collector_meta` (which survives retention emptying the table).
    static func newestCursor(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: """
            SELECT max(coalesce((SELECT max(cursor) FROM records), 0),
                       coalesce((SELECT value FROM collector_meta WHERE key = 'cursor'), 0))
            """) ?? 0
    }

    /// The smallest string greater than every string that starts with
    /// `prefix` (in SQLite's byte order): the prefix with its last scalar
    /// incremented. Nil when no such string exists.
    static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if (0xD800...0xDFFF).contains(next) { next = 0xE000 }
            if let s = Unicode.Scalar(next) {
                scalars.append(s)
                var out = String.UnicodeScalarView()
                out.append(contentsOf: scalars)
                return String(out)
            }
        }
        return nil
    }

    public func findings(sidecarId: String?, since: Int64?, after: Int64? = nil, limit: Int) throws(CollectorStoreError) -> [StoredFinding] {
        try read("query findings") { db in
            var sql = "SELECT id, kind, sidecar_id, sequence, record_id, detail, found_ms, evidence FROM findings WHERE 1"
            var arguments: StatementArguments = []
            if let sidecarId {
                sql += " AND sidecar_id = ?"
                arguments += [sidecarId]
            }
            if let since {
                sql += " AND found_ms >= ?"
                arguments += [since]
            }
            if let after {
                sql += " AND id > ?"
                arguments += [after]
            }
            sql += " ORDER BY id LIMIT ?"
            arguments += [max(1, limit)]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.storedFinding)
        }
    }

    /// The most findings a report lists (its integrity verdict needs one).
    static let reportFindingsCap = 100_000

    /// The newest `newest` findings of `sidecarIds` found before `until`,
    /// oldest first: a report over a period must show the latest ones even
    /// when older findings, or another sidecar's, are far more numerous.
    func findings(before until: Int64, sidecarIds: [String], newest: Int) throws(CollectorStoreError) -> [StoredFinding] {
        guard !sidecarIds.isEmpty else { return [] }
        // One JSON array argument, not one per id: a fleet can outnumber SQLite's variable limit.
        let ids = String(decoding: (try? JSONEncoder().encode(sidecarIds)) ?? Data("[]".utf8), as: UTF8.self)
        return try read("query findings for a report") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, kind, sidecar_id, sequence, record_id, detail, found_ms, evidence FROM findings
                WHERE found_ms < ? AND sidecar_id IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT ?
                """, arguments: [until, ids, newest]).map(Self.storedFinding).reversed()
        }
    }

    static func storedFinding(_ row: Row) -> StoredFinding {
        let kind = IntegrityFinding.Kind(rawValue: row["kind"]) ?? .malformed
        let finding = IntegrityFinding(kind: kind, sidecarId: row["sidecar_id"], sequence: row["sequence"],
                                       recordId: row["record_id"], detail: row["detail"])
        let evidence = (row["evidence"] as Data?).map { [UInt8]($0) }
        return StoredFinding(id: row["id"], finding: finding, foundAt: row["found_ms"], evidence: evidence)
    }
}
