import GRDB
import ReinCrypto

/// Central policies: every version kept, the highest current, a rollback
/// being a new version with an old document.
extension SQLiteCollectorStore {
    public func addPolicyVersion(_ draft: PolicyDraft, event: (PolicyVersion) throws -> AuditBatch?) throws(CollectorStoreError) -> PolicyVersion {
        try write("store policy version") { db in
            let stored = try Self.insertVersion(agentId: draft.agentId, document: draft.document, author: draft.author, message: draft.message,
                                                forceReason: draft.forceReason, rollbackOf: nil, time: draft.time, db: db)
            if let batch = try event(stored) { _ = try Self.ingest(batch, at: draft.time, db: db) }
            return stored
        }
    }

    public func rollbackPolicy(agentId: String, toVersion version: Int64, author: String, message: String, forceReason: String?,
                               at now: Int64, event: (PolicyVersion) throws -> AuditBatch?) throws(CollectorStoreError) -> PolicyVersion {
        try write("roll back policy") { db in
            guard let target = try Row.fetchOne(db, sql: "SELECT * FROM policy_versions WHERE agent_id = ? AND version = ?",
                                                arguments: [agentId, version]).map(Self.policy) else {
                throw CollectorStoreError.notFound("agent \(agentId) has no policy version \(version)")
            }
            let stored = try Self.insertVersion(agentId: agentId, document: target.document, author: author, message: message,
                                                forceReason: forceReason, rollbackOf: version, time: now, db: db)
            if let batch = try event(stored) { _ = try Self.ingest(batch, at: now, db: db) }
            return stored
        }
    }

    static func insertVersion(agentId: String, document: String, author: String, message: String, forceReason: String?,
                              rollbackOf: Int64?, time: Int64, db: Database) throws -> PolicyVersion {
        let current = try Int64.fetchOne(db, sql: "SELECT max(version) FROM policy_versions WHERE agent_id = ?",
                                         arguments: [agentId]) ?? 0
        let version = PolicyVersion(agentId: agentId, version: current + 1, document: document,
                                    sha256: SHA256.hash(document).hex, author: author, time: time, message: message,
                                    forceReason: forceReason, rollbackOf: rollbackOf)
        try db.execute(sql: """
            INSERT INTO policy_versions (agent_id, version, document, sha256, author, time_ms, message, force_reason, rollback_of)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [agentId, version.version, document, version.sha256, author, time, message, forceReason, rollbackOf])
        return version
    }

    public func currentPolicy(agentId: String) throws(CollectorStoreError) -> PolicyVersion? {
        try read("read policy") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM policy_versions WHERE agent_id = ? ORDER BY version DESC LIMIT 1",
                             arguments: [agentId]).map(Self.policy)
        }
    }

    public func policyVersion(agentId: String, version: Int64) throws(CollectorStoreError) -> PolicyVersion? {
        try read("read policy version") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM policy_versions WHERE agent_id = ? AND version = ?",
                             arguments: [agentId, version]).map(Self.policy)
        }
    }

    public func policyHistory(agentId: String) throws(CollectorStoreError) -> [PolicyVersion] {
        try read("read policy history") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM policy_versions WHERE agent_id = ? ORDER BY version DESC",
                             arguments: [agentId]).map(Self.policy)
        }
    }

    public func currentPolicies() throws(CollectorStoreError) -> [PolicyVersion] {
        try read("read policies") { db in
            try Row.fetchAll(db, sql: """
                SELECT p.* FROM policy_versions p
                JOIN (SELECT agent_id, max(version) AS version FROM policy_versions GROUP BY agent_id) c
                  ON c.agent_id = p.agent_id AND c.version = p.version
                ORDER BY p.agent_id
                """).map(Self.policy)
        }
    }

    static func policy(_ row: Row) -> PolicyVersion {
        PolicyVersion(agentId: row["agent_id"], version: row["version"], document: row["document"], sha256: row["sha256"],
                      author: row["author"], time: row["time_ms"], message: row["message"], forceReason: row["force_reason"],
                      rollbackOf: row["rollback_of"])
    }
}
