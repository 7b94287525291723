import Foundation
import Logging
import ReinAudit
import ReinStore
import Synchronization

/// The collector's own audit chain (sidecar id `collector`): policy changes
/// and refused API calls.
///
/// Why through the ingest path: the collector's events are sealed with the
/// same ``AuditChain`` as a sidecar's and stored by
/// ``CollectorStore/ingest(_:at:)``, so they are verified, queryable
/// (`event=policy-change`, `event=access-denied`) and exported exactly like
/// sidecar records. Sealing and storing happen under one lock so that
/// events reach the store in chain order, and the chain advances only when
/// the store accepted the record.
public final class CollectorAuditTrail: Sendable {
    public static let sidecarId = "collector"

    private let store: any CollectorStore
    private let chain: Mutex<AuditChain>
    private let logger: Logger

    /// Resumes the chain from the store.
    public init(store: any CollectorStore, logger: Logger) throws(CollectorStoreError) {
        self.store = store
        self.logger = logger
        chain = Mutex(try store.sidecar(Self.sidecarId)?.head ?? AuditChain())
    }

    /// Seals and stores one event (blocking: call it off event loops).
    @discardableResult
    public func append(_ record: AuditRecord, at now: Int64) throws -> IngestOutcome {
        try chain.withLock { head in
            var next = head
            var r = record
            r.sidecarId = Self.sidecarId
            let sealed = try next.seal(&r)
            let outcome = try store.ingest(AuditBatch(sidecarId: Self.sidecarId, items: [.record(try IngestRecord(sealed: sealed))]), at: now)
            head = next
            return outcome
        }
    }

    /// A refused API call, as an `access-denied` event. The token's name is
    /// recorded (in `access_key_id`, the credential's identifier), never the token.
    public static func accessDenied(actor: String, route: String, status: Int, reason: String, agentId: String?,
                                    sourceAddress: String?, userAgent: String?, time: Date) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(time), sidecarId: sidecarId,
                            via: "collector-api", decision: "deny")
        r.event = "access-denied"
        r.agentId = agentId
        r.accessKeyId = actor
        r.sourceAddress = sourceAddress
        r.userAgent = userAgent
        r.service = "rein-collector"
        r.operation = route
        r.reason = "\(actor): \(reason)"
        r.errorCode = "AccessDenied"
        r.upstreamStatus = status
        return r
    }

    /// A pushed or rolled-back policy, as a `policy-change` event.
    public static func policyChange(actor: String, operation: String, agentId: String, version: Int64, message: String,
                                    sha256: String, forceReason: String?, sourceAddress: String?, userAgent: String?,
                                    time: Date) -> AuditRecord {
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(time), sidecarId: sidecarId,
                            via: "collector-api", decision: "allow")
        r.event = "policy-change"
        r.agentId = agentId
        r.accessKeyId = actor
        r.sourceAddress = sourceAddress
        r.userAgent = userAgent
        r.service = "rein-collector"
        r.operation = operation
        r.policyVersion = String(version)
        var reason = "\(actor) \(operation == "RollbackPolicy" ? "rolled back" : "pushed") the policy of \(agentId) as version \(version) (sha256 \(sha256)): \(message)"
        if let forceReason { reason += " [lint errors overridden: \(forceReason)]" }
        r.reason = reason
        r.forwarded = true
        return r
    }
}
