import Foundation
import GRDB
import ReinAudit

/// The facts framework reports read. Counts come from `record_rollup`,
/// never from scanning records; hold decisions and samples come through the
/// zone map (`record_blocks`) and the record query planner.
extension SQLiteCollectorStore {
    public func complianceData(_ q: ComplianceData.Query) throws(CollectorStoreError) -> ComplianceData {
        var data = try read("read report facts") { db -> ComplianceData in
            var d = ComplianceData()
            var sql = "SELECT * FROM record_rollup WHERE day >= ? AND day < ?"
            var args: StatementArguments = [q.since / RecordRollup.dayMs * RecordRollup.dayMs, q.until]
            if let a = q.agentId { sql += " AND agent_id = ?"; _ = args.append(contentsOf: [a]) }
            if let t = q.taskId { sql += " AND task_id = ?"; _ = args.append(contentsOf: [t]) }
            d.rollup = try Row.fetchAll(db, sql: sql + " ORDER BY day, agent_id, task_id, event, decision", arguments: args).map { row in
                ComplianceData.RollupRow(day: row["day"], agentId: row["agent_id"], taskId: row["task_id"], event: row["event"],
                                         decision: row["decision"], keyKind: row["key_kind"], broker: row["broker"],
                                         forwarded: (row["forwarded"] as Int64) != 0, count: row["count"])
            }
            // Hold decisions: their events and calls carrying an approver, in
            // the blocks whose zone map holds such an event or decision in the period.
            var filter = " AND time_ms >= ? AND time_ms < ?"
            var one: [(any DatabaseValueConvertible)?] = [q.since, q.until]
            if let a = q.agentId { filter += " AND agent_id = ?"; one.append(a) }
            if let t = q.taskId { filter += " AND task_id = ?"; one.append(t) }
            let blocks = try Int64.fetchAll(db, sql: """
                SELECT DISTINCT block FROM record_blocks
                WHERE kind IN ('event', 'decision') AND value IN ('hold-approved', 'hold-denied') AND max_time >= ? AND min_time < ?
                ORDER BY block
                """, arguments: [q.since, q.until])
            var holdRows: [Row] = []
            for block in blocks where holdRows.count < 100_000 {
                holdRows += try Row.fetchAll(db, sql: """
                    SELECT cursor, record_id, sidecar_id, agent_id, task_id, event, decision, line FROM records
                    WHERE cursor BETWEEN ? AND ?
                      AND (event IN ('hold-approved', 'hold-denied') OR decision IN ('hold-approved', 'hold-denied'))\(filter)
                    ORDER BY cursor
                    """, arguments: StatementArguments([block * Self.blockSize, block * Self.blockSize + Self.blockSize - 1] + one))
            }
            d.holdDecisions = holdRows.prefix(100_000).map { row in
                let line: Data = row["line"]
                let fields = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] ?? [:]
                return ComplianceData.HoldDecision(recordId: row["record_id"], sidecarId: row["sidecar_id"], agentId: row["agent_id"],
                                                   taskId: row["task_id"], event: row["event"], decision: row["decision"],
                                                   approver: fields["approver"] as? String, holdId: fields["hold_id"] as? String,
                                                   grantId: fields["grant_id"] as? String)
            }
            d.policyVersionsInPeriod = try Int64.fetchOne(db, sql: """
                SELECT count(*) FROM policy_versions WHERE time_ms >= ? AND time_ms < ?\(q.agentId == nil ? "" : " AND agent_id = ?")
                """, arguments: q.agentId.map { [q.since, q.until, $0] } ?? [q.since, q.until]) ?? 0
            d.policies = try Row.fetchAll(db, sql: """
                SELECT p.* FROM policy_versions p
                JOIN (SELECT agent_id, max(version) AS version FROM policy_versions WHERE time_ms < ? GROUP BY agent_id) c
                  ON c.agent_id = p.agent_id AND c.version = p.version
                ORDER BY p.agent_id
                """, arguments: [q.until]).map(Self.policy).filter { q.agentId == nil || $0.agentId == q.agentId }
            return d
        }
        let sidecars = try self.sidecars()
        // The collector's own chain is not a sidecar: it has no agent and never heartbeats.
        // A sidecar first registered after the period is no evidence for it.
        data.sidecars = sidecars.filter { s in
            s.sidecarId != CollectorStoreConstants.collectorChain && (q.agentId == nil || s.agentId == q.agentId)
                && (s.registeredMs.map { $0 < q.until } ?? true)
        }
        let inScope = Set(data.sidecars.map { (s: SidecarEntry) in s.sidecarId } + (q.agentId == nil ? [CollectorStoreConstants.collectorChain] : []))
        data.findings = try findings(before: q.until, sidecarIds: Array(inScope), newest: Self.reportFindingsCap)
        let ids = String(decoding: (try? JSONEncoder().encode(Array(inScope))) ?? Data("[]".utf8), as: UTF8.self)
        data.checkpoints = try read("count checkpoints") { db in
            try Int64.fetchOne(db, sql: """
                SELECT count(*) FROM checkpoints WHERE received_ms < ? AND sidecar_id IN (SELECT value FROM json_each(?))
                """, arguments: [q.until, ids]) ?? 0
        }
        for (kind, decision, event) in [("call", nil, "call"), ("deny", "deny", nil), ("hold", nil, "hold-created"),
                                         ("policy-change", nil, "policy-change"), ("forwarded", "allow", nil)] as [(String, String?, String?)] {
            let page = try records(RecordQuery(agentId: q.agentId, taskId: q.taskId, decision: decision, event: event,
                                               since: q.since, until: q.until, limit: 3))
            data.samples[kind] = page.records.compactMap { r in
                ((try? JSONSerialization.jsonObject(with: Data(r.line))) as? [String: Any])?["record_id"] as? String
            }
        }
        return data
    }
}

/// Names shared with the collector service.
public enum CollectorStoreConstants {
    /// The collector's own audit chain (policy changes, refusals, central hold events).
    public static let collectorChain = "collector"
}
