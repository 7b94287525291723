import GRDB
import ReinAudit

/// The sidecar registry: pinned keys, heartbeat facts and chain heads.
extension SQLiteCollectorStore {
    public func register(_ registration: SidecarRegistration, at now: Int64) throws(CollectorStoreError) -> SidecarRegistration.Outcome {
        let key = registration.publicKey.lowercased()
        return try write("register sidecar") { db in
            let row = try Row.fetchOne(db, sql: "SELECT public_key, agent_id FROM sidecars WHERE sidecar_id = ?",
                                       arguments: [registration.sidecarId])
            let pinned: String? = row?["public_key"]
            // Checked in the same transaction as the write: a chain is one agent's.
            if let owner: String = row?["agent_id"], owner != registration.agentId {
                return .init(status: pinned == key ? .matches : .mismatch, finding: nil, boundAgent: owner)
            }
            if let pinned, pinned != key {
                // Not the registered sidecar speaking: its last_seen stays (so a
                // second sidecar given the same id cannot hide the first one going
                // silent), and one finding per offered key, not one per retry.
                let keyText = "with key \(key.prefix(16))…,"
                let known = try Bool.fetchOne(db, sql: """
                    SELECT 1 FROM findings WHERE sidecar_id = ? AND kind = ? AND instr(detail, ?) > 0 LIMIT 1
                    """, arguments: [registration.sidecarId, IntegrityFinding.Kind.unknownKey.rawValue, keyText]) == true
                if known { return .init(status: .mismatch, finding: nil) }
                let finding = IntegrityFinding(
                    kind: .unknownKey, sidecarId: registration.sidecarId, sequence: nil,
                    detail: "sidecar \(registration.sidecarId) registered again (token \(registration.registeredBy)) \(keyText) not the pinned \(pinned.prefix(16))…; the pinned key stays (a restored state directory, or two sidecars given one sidecar_id)")
                let stored = try Self.insertFindings([(finding, nil)], at: now, db: db)
                return .init(status: .mismatch, finding: stored.first)
            }
            try db.execute(sql: """
                INSERT INTO sidecars (sidecar_id, agent_id, task_id, public_key, version, registered_by, registered_ms, last_seen_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (sidecar_id) DO UPDATE SET agent_id = coalesce(agent_id, excluded.agent_id), task_id = excluded.task_id,
                    public_key = coalesce(public_key, excluded.public_key), version = excluded.version, registered_by = excluded.registered_by,
                    registered_ms = coalesce(registered_ms, excluded.registered_ms),
                    last_seen_ms = max(coalesce(last_seen_ms, 0), excluded.last_seen_ms),
                    end_kind = NULL, end_ms = NULL, end_by = NULL, end_reason = NULL
                """, arguments: [registration.sidecarId, registration.agentId, registration.taskId, key, registration.version,
                                 registration.registeredBy, now, now])
            return .init(status: pinned == nil ? .registered : .matches, finding: nil)
        }
    }

    public func claimSidecar(_ sidecarId: String, agentId: String, at now: Int64) throws(CollectorStoreError) -> String {
        try write("claim sidecar") { db in
            try db.execute(sql: """
                INSERT INTO sidecars (sidecar_id, agent_id, last_seen_ms) VALUES (?, ?, ?)
                ON CONFLICT (sidecar_id) DO UPDATE SET agent_id = coalesce(agent_id, excluded.agent_id)
                """, arguments: [sidecarId, agentId, now])
            return try String.fetchOne(db, sql: "SELECT agent_id FROM sidecars WHERE sidecar_id = ?", arguments: [sidecarId]) ?? agentId
        }
    }

    public func heartbeat(_ heartbeat: SidecarHeartbeat, at now: Int64) throws(CollectorStoreError) -> HeartbeatOutcome {
        try write("heartbeat") { db in
            // A heartbeat never binds an id (that is registration's), nor moves one.
            guard let row = try Row.fetchOne(db, sql: "SELECT agent_id FROM sidecars WHERE sidecar_id = ?", arguments: [heartbeat.sidecarId]),
                  let owner: String = row["agent_id"]
            else { return .notRegistered }
            if owner != heartbeat.agentId { return .boundToAnotherAgent(owner) }
            // A stop ends the sidecar only when the collector has every record
            // it wrote; any other heartbeat means it is serving (again).
            var outcome = HeartbeatOutcome.recorded
            if heartbeat.stopping {
                let stored = try Int64.fetchOne(db, sql: "SELECT stored_sequence FROM sidecars WHERE sidecar_id = ?",
                                                arguments: [heartbeat.sidecarId]) ?? 0
                let unshipped = max(heartbeat.spoolDepth ?? 0, (heartbeat.lastSequence ?? 0) - stored)
                outcome = unshipped > 0 ? .stoppedWithBacklog(unshipped: unshipped) : .stopped
            }
            let ended = outcome == .stopped
            try db.execute(sql: """
                UPDATE sidecars SET task_id = coalesce(?, task_id), policy_version = ?, spool_depth = ?, spool_bytes = ?,
                    reported_sequence = ?, ready = ?, clock_skew_ms = ?, heartbeat_ms = ?, last_seen_ms = max(coalesce(last_seen_ms, 0), ?),
                    end_kind = ?, end_ms = ?, end_by = NULL, end_reason = NULL
                WHERE sidecar_id = ?
                """, arguments: [heartbeat.taskId, heartbeat.policyVersion, heartbeat.spoolDepth, heartbeat.spoolBytes,
                                 heartbeat.lastSequence, heartbeat.ready, heartbeat.clockSkewMs, now, now,
                                 ended ? SidecarEnd.Kind.stopped.rawValue : nil, ended ? now : nil, heartbeat.sidecarId])
            return outcome
        }
    }

    public func retireSidecar(_ sidecarId: String, by actor: String, reason: String, at now: Int64, unlessSeenSince cutoff: Int64,
                              event: (SidecarEntry) throws -> AuditBatch?) throws(CollectorStoreError) -> SidecarRetirement {
        try write("retire sidecar") { db in
            guard var entry = try Row.fetchOne(db, sql: Self.sidecarColumns + " WHERE s.sidecar_id = ?", arguments: [sidecarId])
                .map(Self.entry) else { return .notFound }
            if entry.end?.kind == .retired { return .alreadyRetired(entry) }
            if entry.end == nil, let seen = entry.lastSeen, seen >= cutoff { return .active(lastSeen: seen) }
            let end = SidecarEnd(kind: .retired, atMs: now, by: actor, reason: reason)
            try db.execute(sql: "UPDATE sidecars SET end_kind = ?, end_ms = ?, end_by = ?, end_reason = ? WHERE sidecar_id = ?",
                           arguments: [end.kind.rawValue, end.atMs, end.by, end.reason, sidecarId])
            entry.end = end
            if let batch = try event(entry) { _ = try Self.ingest(batch, at: now, db: db) }
            return .retired(entry)
        }
    }

    static let sidecarColumns = """
        SELECT s.*, (SELECT count(*) FROM findings f WHERE f.sidecar_id = s.sidecar_id) AS finding_count FROM sidecars s
        """

    public func sidecar(_ sidecarId: String) throws(CollectorStoreError) -> SidecarEntry? {
        try read("read sidecar") { db in
            try Row.fetchOne(db, sql: Self.sidecarColumns + " WHERE s.sidecar_id = ?", arguments: [sidecarId]).map(Self.entry)
        }
    }

    public func sidecars() throws(CollectorStoreError) -> [SidecarEntry] {
        try read("read fleet") { db in
            try Row.fetchAll(db, sql: Self.sidecarColumns + " ORDER BY s.sidecar_id").map(Self.entry)
        }
    }

    static func entry(_ row: Row) -> SidecarEntry {
        SidecarEntry(sidecarId: row["sidecar_id"], agentId: row["agent_id"], taskId: row["task_id"], publicKey: row["public_key"],
                     version: row["version"], registeredBy: row["registered_by"], policyVersion: row["policy_version"],
                     spoolDepth: row["spool_depth"], spoolBytes: row["spool_bytes"], reportedSequence: row["reported_sequence"],
                     storedSequence: row["stored_sequence"], lastSeen: row["last_seen_ms"],
                     ready: (row["ready"] as Int64?).map { $0 != 0 },
                     head: AuditChain(lastSequence: row["head_sequence"], lastHash: row["head_hash"]),
                     findings: row["finding_count"], registeredMs: row["registered_ms"], clockSkewMs: row["clock_skew_ms"],
                     end: end(row))
    }

    private static func end(_ row: Row) -> SidecarEnd? {
        guard let kind = (row["end_kind"] as String?).flatMap(SidecarEnd.Kind.init(rawValue:)), let at: Int64 = row["end_ms"] else { return nil }
        return SidecarEnd(kind: kind, atMs: at, by: row["end_by"], reason: row["end_reason"])
    }
}
