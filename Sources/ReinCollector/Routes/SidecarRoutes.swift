import Foundation
import ReinAudit
import ReinStore

/// Sidecar registration, heartbeats and the fleet view.
enum SidecarRoutes {
    static var routes: [CollectorRoute] {
        [
            CollectorRoute(.POST, "/v1/sidecars/register", roles: [.sidecar], handler: register),
            CollectorRoute(.POST, "/v1/sidecars/heartbeat", roles: [.sidecar], handler: heartbeat),
            CollectorRoute(.POST, "/v1/sidecars/{id}/retire", roles: [.admin], handler: retire),
            CollectorRoute(.GET, "/v1/fleet", roles: [.auditor, .admin], handler: fleet),
        ]
    }

    struct RegisterBody: Decodable {
        let sidecarId: String
        let agentId: String
        let taskId: String?
        let publicKey: String
        let version: String?
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", publicKey = "public_key", version
        }
    }

    struct RegisterAnswer: Encodable {
        let sidecarId: String
        let keyStatus: String
        /// On a mismatch, an AWS-style error the sidecar logs as it is.
        var code: String? = nil
        var message: String? = nil
        enum CodingKeys: String, CodingKey { case sidecarId = "sidecar_id", keyStatus = "key_status", code, message }
    }

    struct HeartbeatBody: Decodable {
        let sidecarId: String
        let agentId: String
        let taskId: String?
        let policyVersion: String?
        let spoolDepth: Int64?
        let spoolBytes: Int64?
        let lastSequence: Int64?
        let ready: Bool?
        let time: String?
        /// Its last heartbeat, sent as it stops.
        let stopping: Bool?
        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", policyVersion = "policy_version"
            case spoolDepth = "spool_depth", spoolBytes = "spool_bytes", lastSequence = "last_sequence", ready, time, stopping
        }
    }

    /// Checks that the caller's token serves `agent` and the agent
    /// `sidecarId` is bound to, if any; nil when allowed. (That the binding
    /// is `agent` itself is the store's check, in the write's transaction.)
    static func refusal(_ call: CollectorCall, sidecarId: String, agent: String) async throws -> CollectorResponse? {
        guard let principal = call.principal else { return await call.deny("no token") }
        try validateSidecarId(sidecarId)
        try PolicyRoutes.validateAgentId(agent)
        guard principal.mayActAs(sidecar: sidecarId) else { return await call.deny(principal.sidecarScopeRefusal(sidecarId), agentId: agent) }
        guard principal.serves(agent: agent) else {
            return await call.deny("token \(principal.name) does not serve agent \(agent)", agentId: agent)
        }
        let store = call.services.store
        if let known = try await call.services.blocking({ try store.sidecar(sidecarId) }), let owner = known.agentId {
            guard principal.serves(agent: owner) else {
                return await call.deny("sidecar \(sidecarId) is registered for agent \(owner), which token \(principal.name) does not serve",
                                       agentId: owner)
            }
        }
        return nil
    }

    /// A sidecar id serves one agent; what to do when a host moves to another.
    static func agentMismatch(_ sidecarId: String, owner: String, agent: String) -> CollectorAPIError {
        CollectorAPIError(.conflict, code: "AgentMismatch",
                          message: "sidecar \(sidecarId) is bound to agent \(owner), not \(agent): a sidecar id serves one agent. To move "
                                   + "this host to \(agent), let its spool ship under \(owner)'s policy first, then give it a new sidecar_id")
    }

    static func validateSidecarId(_ id: String) throws {
        if let problem = SidecarIdentifier.problem(id) { throw CollectorAPIError.badRequest("sidecar_id \(problem)") }
        guard id.lowercased() != CollectorAuditTrail.sidecarId else {
            throw CollectorAPIError.badRequest("the sidecar id '\(id)' is reserved for the collector's own audit chain")
        }
    }

    @Sendable static func register(_ call: CollectorCall) async throws -> CollectorResponse {
        let body = try call.decodeBody(RegisterBody.self)
        if let refusal = try await refusal(call, sidecarId: body.sidecarId, agent: body.agentId) { return refusal }
        let key = body.publicKey.lowercased()
        guard key.count == 64, key.allSatisfy({ $0.isHexDigit }) else {
            throw CollectorAPIError.badRequest("public_key must be the Ed25519 public key as 64 hex digits")
        }
        let registration = SidecarRegistration(sidecarId: body.sidecarId, agentId: body.agentId, taskId: body.taskId,
                                               publicKey: key, version: body.version, registeredBy: call.actor)
        let services = call.services
        let now = services.nowMillis
        let outcome = try await services.blocking { [store = services.store] in try store.register(registration, at: now) }
        if let owner = outcome.boundAgent { throw agentMismatch(body.sidecarId, owner: owner, agent: body.agentId) }
        var answer = RegisterAnswer(sidecarId: body.sidecarId, keyStatus: outcome.status.rawValue)
        if outcome.status == .mismatch {
            services.logIntegrity(outcome.finding.map { [$0] } ?? [])
            answer.code = "KeyMismatch"
            answer.message = "sidecar \(body.sidecarId) is pinned to another signing key than \(key.prefix(16))…; its records are not "
                + "accepted under this key. If another sidecar runs with this sidecar_id (two pods with one host name), give each its own; "
                + "otherwise restore this sidecar's audit-signing.key, or give it a new sidecar_id"
            return .json(answer, status: .conflict)
        }
        services.logger.info("sidecar registered", metadata: ["sidecar.id": "\(body.sidecarId)", "agent.id": "\(body.agentId)",
                                                              "key.status": "\(outcome.status.rawValue)"])
        return .json(answer)
    }

    @Sendable static func heartbeat(_ call: CollectorCall) async throws -> CollectorResponse {
        // Read before any wait for the store: a collector slow to get to the
        // heartbeat must not read as the sidecar's clock being behind.
        let services = call.services
        let now = services.nowMillis
        let body = try call.decodeBody(HeartbeatBody.self)
        if let refusal = try await refusal(call, sidecarId: body.sidecarId, agent: body.agentId) { return refusal }
        for (name, value) in [("spool_depth", body.spoolDepth), ("spool_bytes", body.spoolBytes), ("last_sequence", body.lastSequence)] {
            if let value, value < 0 { throw CollectorAPIError.badRequest("\(name) must be 0 or more") }
        }
        // The sidecar's clock against ours (the transit time makes it read a
        // little behind). An unreadable time is not refused: unknown.
        let skew = body.time.flatMap { RFC3339Time.milliseconds($0) }.map { $0 - now }
        // Shown in the fleet view: kept to 128 characters rather than refused (a
        // refused heartbeat must never be what stops a sidecar's shipping).
        let beat = SidecarHeartbeat(sidecarId: body.sidecarId, agentId: body.agentId, taskId: body.taskId.map { String($0.prefix(128)) },
                                    policyVersion: body.policyVersion.map { String($0.prefix(128)) }, spoolDepth: body.spoolDepth,
                                    spoolBytes: body.spoolBytes, lastSequence: body.lastSequence, ready: body.ready, clockSkewMs: skew,
                                    stopping: body.stopping == true)
        switch try await services.blocking({ [store = services.store] in try store.heartbeat(beat, at: now) }) {
        case .recorded:
            return .json(["sidecar_id": body.sidecarId])
        case .stopped:
            services.logger.info("sidecar stopped with everything shipped", metadata: [
                "sidecar.id": "\(body.sidecarId)", "agent.id": "\(body.agentId)",
            ])
            return .json(["sidecar_id": body.sidecarId, "status": "stopped"])
        case .stoppedWithBacklog(let unshipped):
            // Said now, not only when it goes silent: the records are on a disk
            // that may be deleted with its pod.
            services.logger.warning("sidecar stopped with records the collector does not have; it is flagged silent unless it starts again with its state_dir", metadata: [
                "sidecar.id": "\(body.sidecarId)", "agent.id": "\(body.agentId)", "sidecar.unshipped_records": "\(unshipped)",
            ])
            return .json(["sidecar_id": body.sidecarId, "status": "stopped-with-backlog"])
        case .notRegistered:
            throw CollectorAPIError(.conflict, code: "NotRegistered", message: "sidecar \(body.sidecarId) is not registered; register it first")
        case .boundToAnotherAgent(let owner):
            throw agentMismatch(body.sidecarId, owner: owner, agent: body.agentId)
        }
    }

    /// One fleet entry (docs/collector-api.md: `GET /v1/fleet`).
    struct FleetEntry: Encodable {
        let entry: SidecarEntry
        let status: String

        enum CodingKeys: String, CodingKey {
            case sidecarId = "sidecar_id", agentId = "agent_id", taskId = "task_id", policyVersion = "policy_version"
            case spoolDepth = "spool_depth", spoolBytes = "spool_bytes", lastSequence = "last_sequence"
            case storedSequence = "stored_sequence", lastSeen = "last_seen", status, findings, publicKey = "public_key", ready
            case clockSkew = "clock_skew_s", endedAt = "ended_at", endedBy = "ended_by", endReason = "end_reason"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(entry.sidecarId, forKey: .sidecarId)
            try c.encode(entry.agentId, forKey: .agentId)
            try c.encode(entry.taskId, forKey: .taskId)
            try c.encode(entry.policyVersion, forKey: .policyVersion)
            try c.encode(entry.spoolDepth, forKey: .spoolDepth)
            try c.encode(entry.spoolBytes, forKey: .spoolBytes)
            try c.encode(entry.reportedSequence, forKey: .lastSequence)
            try c.encode(entry.storedSequence, forKey: .storedSequence)
            try c.encode(entry.lastSeen.map(RFC3339Time.string(milliseconds:)), forKey: .lastSeen)
            try c.encode(status, forKey: .status)
            try c.encode(entry.ready, forKey: .ready)
            try c.encode(entry.clockSkewMs.map { Double($0) / 1000 }, forKey: .clockSkew)
            try c.encode(entry.findings, forKey: .findings)
            // Public: what an investigator passes to `rein audit verify --file … --public-key`.
            try c.encode(entry.publicKey, forKey: .publicKey)
            try c.encode(entry.end.map { RFC3339Time.string(milliseconds: $0.atMs) }, forKey: .endedAt)
            try c.encode(entry.end?.by, forKey: .endedBy)
            try c.encode(entry.end?.reason, forKey: .endReason)
        }
    }

    /// The fleet, filtered by ``FleetFilter``; `X-Rein-Fleet-Total` counts every sidecar.
    @Sendable static func fleet(_ call: CollectorCall) async throws -> CollectorResponse {
        let services = call.services
        let filter = try FleetFilter(query: call.request.query)
        let entries = try await services.reading { [store = services.store] in try store.sidecars() }
        let now = services.nowMillis
        let fleet = entries.filter { $0.sidecarId != CollectorAuditTrail.sidecarId }.map {
            FleetEntry(entry: $0, status: status(of: $0, now: now, silentAfter: services.configuration.silentAfter,
                                                 maxClockSkew: services.configuration.maxClockSkew))
        }
        let shown = fleet.filter { filter.matches(agentId: $0.entry.agentId ?? "", status: $0.status) }
        return .json(shown, headers: [("X-Rein-Fleet-Total", "\(fleet.count)")])
    }

    /// `stopped` (it stopped with everything shipped) and `retired` (an
    /// admin retired it) are ends, not problems. Otherwise the worst that is
    /// true of a sidecar: `silent` (nothing heard for
    /// `silent_after`), `not-ready` (its last heartbeat said it refuses
    /// calls: a full spool, expired credentials), `findings` (its chain has
    /// integrity findings), else `ok`. `clock-skew` (its clock is off ours by
    /// more than `fleet.max_clock_skew`) comes before `findings`: the times of
    /// its records, which queries, exports and report days go by, are off.
    static func status(of entry: SidecarEntry, now: Int64, silentAfter: Int64, maxClockSkew: Int64) -> String {
        if let end = entry.end { return end.kind.rawValue }
        if entry.isSilent(now: now, silentAfter: silentAfter) { return "silent" }
        if entry.ready == false { return "not-ready" }
        if entry.isClockSkewed(beyond: maxClockSkew) { return "clock-skew" }
        if entry.findings > 0 { return "findings" }
        return "ok"
    }
}
