import Foundation
import NIOHTTP1
import ReinHolds

/// Holds, centrally: sidecars register held calls and long-poll their
/// decisions; approvers list, show, approve and deny; auditors read. The
/// rules (roles, separation of duties, state transitions) are ``HoldAPI``'s,
/// the same a standalone sidecar serves; this adapts the collector's
/// principal and records refusals as `access-denied` events.
enum HoldRoutes {
    static var routes: [CollectorRoute] {
        let readers: Set<CollectorRole> = [.approver, .auditor, .admin, .sidecar]
        return [
            CollectorRoute(.GET, "/v1/holds", roles: readers, handler: handle),
            CollectorRoute(.POST, "/v1/holds", roles: [.sidecar], handler: handle),
            CollectorRoute(.GET, "/v1/holds/{id}", roles: readers, handler: handle),
            CollectorRoute(.GET, "/v1/holds/{id}/wait", roles: [.sidecar], handler: handle),
            CollectorRoute(.POST, "/v1/holds/{id}/consume", roles: [.sidecar], handler: handle),
            CollectorRoute(.POST, "/v1/holds/{id}/approve", roles: [.approver], handler: handle),
            CollectorRoute(.POST, "/v1/holds/{id}/deny", roles: [.approver], handler: handle),
            CollectorRoute(.POST, "/v1/grants/match", roles: [.sidecar], handler: handle),
        ]
    }

    /// The hold API's view of a collector token.
    static func actor(_ principal: CollectorPrincipal) -> HoldActor {
        var capabilities: Set<HoldActor.Capability> = []
        if principal.has(.sidecar) { capabilities.insert(.register) }
        if principal.has(.approver) { capabilities.formUnion([.decide, .read]) }
        if principal.has(.auditor) || principal.has(.admin) { capabilities.insert(.read) }
        return HoldActor(name: principal.name, capabilities: capabilities, agents: principal.agents,
                         ownsAgents: principal.ownsAgents, isSidecar: principal.has(.sidecar))
    }

    /// The sidecar and agent a new hold names.
    private struct NewHoldOrigin: Decodable {
        let sidecarId: String?
        let agentId: String?
        enum CodingKeys: String, CodingKey { case sidecarId = "sidecar_id", agentId = "agent_id" }
    }

    /// A hold names the sidecar that raised it: a registered sidecar of
    /// another agent, or an id outside the token's `sidecar_ids`, is
    /// refused, so that no token can put its holds under another sidecar
    /// (the hold API checks the agent itself).
    static func foreignSidecar(_ call: CollectorCall) async throws -> CollectorResponse? {
        guard let origin = try? JSONDecoder().decode(NewHoldOrigin.self, from: Data(call.request.body)),
              let sidecarId = origin.sidecarId, let agentId = origin.agentId else { return nil }
        if let principal = call.principal, !principal.mayActAs(sidecar: sidecarId) {
            return await call.deny(principal.sidecarScopeRefusal(sidecarId), agentId: agentId)
        }
        let store = call.services.store
        guard let owner = try await call.services.blocking({ try store.sidecar(sidecarId) })?.agentId, owner != agentId else { return nil }
        return await call.deny("sidecar \(sidecarId) serves agent \(owner), not \(agentId)", agentId: agentId)
    }

    @Sendable static func handle(_ call: CollectorCall) async throws -> CollectorResponse {
        guard let api = call.services.holds else {
            return .unavailable("holds are not enabled on this collector")
        }
        // By the routed segments, not the raw path: `/v1/holds/` and `//v1/holds` route here too.
        let segments = call.request.path.split(separator: "/").map(String.init)
        if call.request.method == .POST, segments == ["v1", "holds"], let refusal = try await foreignSidecar(call) { return refusal }
        if let principal = call.principal, !principal.sidecarIds.isEmpty, segments.count == 4, segments[1] == "holds",
           ["wait", "consume"].contains(segments[3]), let hold = try? await api.ledger.hold(id: segments[2]),
           !principal.mayActAs(sidecar: hold.sidecarId) {
            // A token scoped to some sidecar ids waits on and uses only their holds.
            return await call.deny(principal.sidecarScopeRefusal(hold.sidecarId), agentId: hold.agentId)
        }
        let request = HoldAPI.Request(method: call.request.method.rawValue, path: Array(segments.dropFirst()),
                                      query: call.request.query, body: call.request.body)
        let answer = await api.handle(request, actor: call.principal.map(actor))
        if answer.status == 403 {
            let message = (try? JSONDecoder().decode([String: String].self, from: Data(answer.body)))?["message"] ?? "forbidden"
            return await call.deny(message)
        }
        return CollectorResponse(status: HTTPResponseStatus(statusCode: answer.status),
                                 headers: [("Content-Type", "application/json")] + (answer.retryAfter.map { [("Retry-After", String($0))] } ?? []),
                                 body: answer.body)
    }
}
