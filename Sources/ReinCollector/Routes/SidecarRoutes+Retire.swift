import Foundation
import ReinAudit
import ReinStore

/// `POST /v1/sidecars/{id}/retire`: an admin says a sidecar is gone for
/// good (its pod was deleted, its node lost), so it is no longer flagged
/// silent, alerted or counted as an evidence gap in reports.
///
/// Why only a silent or stopped one: retiring a sidecar that reports would
/// hide nothing for long (its next heartbeat clears the end) but would read
/// as a mistake in the record. Why a reason: a sidecar retired while records
/// were still on its disk is an accepted loss, and the `sidecar-retired`
/// event in the collector's own chain says who accepted it and why.
extension SidecarRoutes {
    struct RetireBody: Decodable {
        let reason: String?
    }

    static let maxRetireReason = 1024

    @Sendable static func retire(_ call: CollectorCall) async throws -> CollectorResponse {
        let id = call.parameter("id")
        try validateSidecarId(id)
        let body = try call.decodeBody(RetireBody.self)
        let reason = (body.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else {
            throw CollectorAPIError.badRequest("reason is required: say why sidecar \(id) is gone (it is kept in the collector's audit chain)")
        }
        guard reason.count <= maxRetireReason else { throw CollectorAPIError.badRequest("reason must be at most \(maxRetireReason) characters") }
        let services = call.services
        let now = services.nowMillis
        let silentAfter = services.configuration.silentAfter
        let (actor, address, agent, time) = (call.actor, call.request.remoteAddress, call.request.header("User-Agent"), services.now())
        let outcome = try await services.blocking { [store = services.store, trail = services.trail] in
            try trail.appendWithin(at: now) { seal in
                try store.retireSidecar(id, by: actor, reason: reason, at: now, unlessSeenSince: now - silentAfter * 1000) { entry in
                    try seal(CollectorAuditTrail.sidecarRetired(entry, actor: actor, reason: reason, sourceAddress: address,
                                                                userAgent: agent, time: time))
                }
            }
        }
        switch outcome {
        case .notFound:
            throw CollectorAPIError(.notFound, code: "NoSuchSidecar", message: "no sidecar \(id) has registered or shipped here")
        case .active(let seen):
            throw CollectorAPIError(.conflict, code: "SidecarActive",
                                    message: "sidecar \(id) reported at \(RFC3339Time.string(milliseconds: seen)), within fleet.silent_after "
                                        + "(\(silentAfter)s): only a sidecar that stopped or went silent can be retired")
        case .alreadyRetired(let entry):
            return .json(FleetEntry(entry: entry, status: SidecarEnd.Kind.retired.rawValue))
        case .retired(let entry):
            services.logger.notice("sidecar retired", metadata: [
                "sidecar.id": "\(id)", "agent.id": "\(entry.agentId ?? "-")", "actor": "\(actor)",
                "sidecar.spool_depth": "\(entry.spoolDepth.map(String.init) ?? "unknown")",
            ])
            return .json(FleetEntry(entry: entry, status: SidecarEnd.Kind.retired.rawValue))
        }
    }
}
