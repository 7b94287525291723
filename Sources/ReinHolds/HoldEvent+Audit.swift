import Foundation
import ReinAudit

extension HoldEvent {
    /// The event as an audit record in the chain of whoever keeps the hold
    /// (`sidecarId`: the sidecar's own, or the collector's): the hold, the
    /// actor, the actions and resources, and how long the hold had waited.
    public func auditRecord(sidecarId: String, via: String) -> AuditRecord {
        let at = Date(timeIntervalSince1970: Double(atMs) / 1000)
        var r = AuditRecord(recordId: AuditRecord.newRecordId(), time: AuditRecord.timestamp(at), sidecarId: sidecarId,
                            via: via, decision: kind.decision)
        r.event = kind.rawValue
        r.agentId = hold.agentId
        r.taskId = hold.taskId
        r.accessKeyId = hold.accessKeyId
        r.service = hold.service
        r.region = hold.region
        r.operation = hold.operation
        r.grants = hold.grants.map { AuditRecord.Grant(action: $0.action, resources: $0.resources) }
        r.statementId = hold.statementId
        r.holdId = hold.id
        r.grantId = grant?.id ?? hold.grantId
        switch kind {
        case .approved, .denied, .grantUsed: r.approver = actor
        default: break
        }
        var reason: String
        switch kind {
        case .created: reason = "hold \(hold.id) created for \(hold.summary.method) \(hold.summary.path) (raised by \(actor ?? hold.sidecarId))"
        case .approved:
            let scope = hold.scope == .actionResource
                ? "scoped grant \(hold.grantId ?? "?") until \(AuditRecord.timestamp(Date(timeIntervalSince1970: Double(hold.grantExpiresMs ?? 0) / 1000)))"
                : "this request only"
            reason = "hold \(hold.id) approved by \(actor ?? "?") (\(scope))"
        case .denied: reason = "hold \(hold.id) denied by \(actor ?? "?")"
        case .expired: reason = "hold \(hold.id) expired with no decision"
        case .notified: reason = "hold \(hold.id) webhook delivered"
        case .notifyFailed: reason = "hold \(hold.id) webhook delivery failed"
        case .grantUsed: reason = "grant \(grant?.id ?? "?") (hold \(hold.id), approved by \(actor ?? "?")) used"
        }
        if let detail, !detail.isEmpty { reason += ": \(detail)" }
        r.reason = reason
        r.latency = AuditRecord.Latency(holdMs: Double(hold.waitedMs(at: atMs)))
        return r
    }
}

extension HoldEvent.Kind {
    /// The record's `decision` for this event (one of ``AuditRecord/decisions``).
    public var decision: String {
        switch self {
        case .created, .notified, .notifyFailed: "hold"
        case .approved, .grantUsed: "hold-approved"
        case .denied: "hold-denied"
        case .expired: "hold-expired"
        }
    }
}
