import Foundation
import NIOHTTP1
import ReinAudit
import ReinStore

/// Central policies: push (validated and linted), read with ETag and
/// long-poll, versions, history and rollback. Every push and rollback is a
/// `policy-change` event in the collector's own audit chain.
enum PolicyRoutes {
    static var routes: [CollectorRoute] {
        [
            CollectorRoute(.GET, "/v1/policies", roles: [.admin, .auditor], handler: list),
            CollectorRoute(.POST, "/v1/policies/{agent}", roles: [.admin], handler: push),
            CollectorRoute(.GET, "/v1/policies/{agent}", roles: [.admin, .auditor, .sidecar], handler: current),
            CollectorRoute(.GET, "/v1/policies/{agent}/versions/{n}", roles: [.admin, .auditor, .sidecar], handler: version),
            CollectorRoute(.GET, "/v1/policies/{agent}/history", roles: [.admin, .auditor], handler: history),
            CollectorRoute(.POST, "/v1/policies/{agent}/rollback", roles: [.admin], handler: rollback),
        ]
    }

    static func etag(_ version: Int64) -> String { "\"\(version)\"" }

    // MARK: bodies

    struct PushBody: Decodable {
        let document: String
        let message: String?
        let forceReason: String?
        enum CodingKeys: String, CodingKey { case document, message, forceReason = "force_reason" }
    }

    struct RollbackBody: Decodable {
        let version: Int64
        let message: String?
        let forceReason: String?
        enum CodingKeys: String, CodingKey { case version, message, forceReason = "force_reason" }
    }

    struct NewVersion: Encodable {
        let agentId: String
        let version: Int64
        let etag: String
        enum CodingKeys: String, CodingKey { case agentId = "agent_id", version, etag }
    }

    struct Summary: Encodable {
        let policy: PolicyVersion
        enum CodingKeys: String, CodingKey { case agentId = "agent_id", version, author, time, message, sha256 }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(policy.agentId, forKey: .agentId)
            try c.encode(policy.version, forKey: .version)
            try c.encode(policy.author, forKey: .author)
            try c.encode(RFC3339Time.string(milliseconds: policy.time), forKey: .time)
            try c.encode(policy.message, forKey: .message)
            try c.encode(policy.sha256, forKey: .sha256)
        }
    }

    struct HistoryEntry: Encodable {
        let policy: PolicyVersion
        enum CodingKeys: String, CodingKey { case version, author, time, message, forceReason = "force_reason", sha256 }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(policy.version, forKey: .version)
            try c.encode(policy.author, forKey: .author)
            try c.encode(RFC3339Time.string(milliseconds: policy.time), forKey: .time)
            try c.encode(policy.message, forKey: .message)
            try c.encode(policy.forceReason, forKey: .forceReason)
            try c.encode(policy.sha256, forKey: .sha256)
        }
    }

    // MARK: handlers

    @Sendable static func list(_ call: CollectorCall) async throws -> CollectorResponse {
        let services = call.services
        let all = try await services.reading { [store = services.store] in try store.currentPolicies() }
        return .json(all.map(Summary.init))
    }

    @Sendable static func push(_ call: CollectorCall) async throws -> CollectorResponse {
        let agent = try agentParameter(call)
        let body = try call.decodeBody(PushBody.self)
        let services = call.services
        let now = services.now()
        let forceReason = body.forceReason.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        switch services.policyGate.check(body.document, agent: agent, forceReason: forceReason, now: Int64(now.timeIntervalSince1970)) {
        case .invalid(let message, let findings):
            return rejected(message, findings)
        case .blockedByLint(let findings):
            let errors = findings.filter { $0.severity == "error" }.count
            return rejected("the policy has \(errors) error-level lint finding(s); fix them or push with force_reason", findings)
        case .accepted:
            break
        }
        let draft = PolicyDraft(agentId: agent, document: body.document, author: call.actor, message: body.message ?? "",
                                forceReason: forceReason, time: RFC3339Time.milliseconds(of: now))
        let record = changeRecord(call, operation: "PushPolicy")
        let stored = try await services.blocking { [store = services.store, trail = services.trail, at = services.nowMillis] in
            try trail.appendWithin(at: at) { seal in try store.addPolicyVersion(draft) { try seal(record($0)) } }
        }
        changed(call, stored, operation: "PushPolicy")
        return .json(NewVersion(agentId: agent, version: stored.version, etag: etag(stored.version)), status: .created,
                     headers: [("ETag", etag(stored.version))])
    }

    @Sendable static func rollback(_ call: CollectorCall) async throws -> CollectorResponse {
        let agent = try agentParameter(call)
        let body = try call.decodeBody(RollbackBody.self)
        let services = call.services
        let now = services.nowMillis
        let message = body.message ?? "roll back to version \(body.version)"
        let actor = call.actor
        let forceReason = body.forceReason.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        // The restored version passes the same gate as a push, today: a version
        // that was forced, or that no longer validates (its task window ended),
        // does not come back through a side door.
        guard let target = try await services.blocking({ [store = services.store] in
            try store.policyVersion(agentId: agent, version: body.version)
        }) else {
            throw CollectorAPIError(.notFound, code: "NoSuchVersion", message: "agent \(agent) has no policy version \(body.version)")
        }
        switch services.policyGate.check(target.document, agent: agent, forceReason: forceReason, now: now / 1000) {
        case .invalid(let reason, let findings):
            return rejected("version \(body.version) no longer validates: \(reason)", findings)
        case .blockedByLint(let findings):
            let errors = findings.filter { $0.severity == "error" }.count
            return rejected("version \(body.version) has \(errors) error-level lint finding(s); roll back with force_reason to restore it anyway",
                            findings)
        case .accepted:
            break
        }
        let record = changeRecord(call, operation: "RollbackPolicy")
        let stored = try await services.blocking { [store = services.store, trail = services.trail] in
            try trail.appendWithin(at: now) { seal in
                try store.rollbackPolicy(agentId: agent, toVersion: body.version, author: actor, message: message, forceReason: forceReason,
                                         at: now) { try seal(record($0)) }
            }
        }
        changed(call, stored, operation: "RollbackPolicy")
        return .json(NewVersion(agentId: agent, version: stored.version, etag: etag(stored.version)), status: .created,
                     headers: [("ETag", etag(stored.version))])
    }

    /// The `policy-change` event for a version, stored in the version's
    /// transaction: no policy is served without its change on record.
    static func changeRecord(_ call: CollectorCall, operation: String) -> @Sendable (PolicyVersion) -> AuditRecord {
        let (actor, address, agent, time) = (call.actor, call.request.remoteAddress, call.request.header("User-Agent"), call.services.now())
        return { stored in
            CollectorAuditTrail.policyChange(
                actor: actor, operation: operation, agentId: stored.agentId, version: stored.version, message: stored.message,
                sha256: stored.sha256, forceReason: stored.forceReason, rollbackOf: stored.rollbackOf, sourceAddress: address,
                userAgent: agent, time: time)
        }
    }

    /// Wakes policy long-polls and audit tails, and logs.
    static func changed(_ call: CollectorCall, _ stored: PolicyVersion, operation: String) {
        let services = call.services
        services.recordsChanged.signal()
        services.policiesChanged.signal()
        services.logger.notice("policy changed", metadata: [
            "agent.id": "\(stored.agentId)", "policy.version": "\(stored.version)", "policy.author": "\(stored.author)",
            "policy.operation": "\(operation)", "policy.forced": "\(stored.forceReason != nil)",
        ])
    }

    /// The `{agent}` of a policy route: 1 to 128 characters, none of them
    /// a slash, a backslash, whitespace, a control or a bidi character. Why:
    /// an agent id names a policy and appears in paths (`agent-a/history`
    /// must not be an agent), logs and audit events; anything else a
    /// policy's `agent.id` may hold stays fetchable.
    static func agentParameter(_ call: CollectorCall) throws -> String {
        let agent = call.parameter("agent")
        try validateAgentId(agent)
        return agent
    }

    /// An agent id as routes and bodies may name it: a plain name.
    static func validateAgentId(_ agent: String) throws {
        guard !agent.isEmpty, agent.count <= 128, agent != ".", agent != "..",
              !agent.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0.properties.isWhitespace
                                                      || $0.properties.generalCategory == .control || $0.properties.isBidiControl }) else {
            throw CollectorAPIError.badRequest("an agent id is 1 to 128 characters without slashes, whitespace or control characters")
        }
    }

    static func rejected(_ message: String, _ findings: [PolicyGate.Finding]) -> CollectorResponse {
        .json(CollectorResponse.ErrorBody(code: "PolicyRejected", message: message, findings: findings.map(PolicyFindingBody.init)),
              status: .unprocessableEntity)
    }

    /// A sidecar token may read only its own agents' policies.
    static func refusal(_ call: CollectorCall, agent: String) async -> CollectorResponse? {
        guard let principal = call.principal else { return await call.deny("no token") }
        if principal.has(.admin) || principal.has(.auditor) || principal.serves(agent: agent) { return nil }
        return await call.deny("token \(principal.name) may not read the policy of agent \(agent)", agentId: agent)
    }

    @Sendable static func current(_ call: CollectorCall) async throws -> CollectorResponse {
        let agent = try agentParameter(call)
        if let refusal = await refusal(call, agent: agent) { return refusal }
        let services = call.services
        let store = services.store
        let known = Self.knownVersions(call.request.header("If-None-Match"))
        let wait = min(try AuditRoutes.integer(call.request.query["wait"], name: "wait", default: 0, range: 0...Int.max), 60)
        let deadline = ContinuousClock.now + .seconds(wait)
        while true {
            let generation = services.policiesChanged.generation
            // A point lookup sidecars depend on at start: not queued behind slow reads.
            guard let policy = try await services.blocking({ try store.currentPolicy(agentId: agent) }) else {
                // No version yet: a long-poll waits for the first push too (an
                // answer at once would have every sidecar of the agent spin).
                let remaining = deadline - ContinuousClock.now
                if wait == 0 || remaining <= .zero || services.policiesChanged.isClosed {
                    throw CollectorAPIError.notFound("agent \(agent) has no policy")
                }
                await services.policiesChanged.wait(since: generation, timeout: remaining)
                continue
            }
            let matches = known.any || known.versions.contains(policy.version)
            if !matches { return document(policy) }
            let remaining = deadline - ContinuousClock.now
            if wait == 0 || remaining <= .zero || services.policiesChanged.isClosed {
                return CollectorResponse(status: .notModified, headers: [("ETag", etag(policy.version)),
                                                                         ("X-Rein-Policy-Version", String(policy.version))])
            }
            await services.policiesChanged.wait(since: generation, timeout: remaining)
        }
    }

    /// The versions an `If-None-Match` header names (`"4"`, `W/"4"`, a list, or `*`).
    static func knownVersions(_ header: String?) -> (any: Bool, versions: Set<Int64>) {
        guard let header else { return (false, []) }
        var versions = Set<Int64>()
        for part in header.split(separator: ",") {
            var tag = part.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return (true, []) }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            if let v = Int64(tag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))) { versions.insert(v) }
        }
        return (false, versions)
    }

    static func document(_ policy: PolicyVersion) -> CollectorResponse {
        CollectorResponse(status: .ok, headers: [("Content-Type", "application/yaml"), ("ETag", etag(policy.version)),
                                                 ("X-Rein-Policy-Version", String(policy.version))],
                          body: Array(policy.document.utf8))
    }

    @Sendable static func version(_ call: CollectorCall) async throws -> CollectorResponse {
        let agent = try agentParameter(call)
        if let refusal = await refusal(call, agent: agent) { return refusal }
        guard let n = Int64(call.parameter("n")), n >= 1 else { throw CollectorAPIError.badRequest("the version must be a number ≥ 1") }
        let services = call.services
        guard let policy = try await services.reading({ [store = services.store] in try store.policyVersion(agentId: agent, version: n) }) else {
            throw CollectorAPIError.notFound("agent \(agent) has no policy version \(n)")
        }
        return document(policy)
    }

    @Sendable static func history(_ call: CollectorCall) async throws -> CollectorResponse {
        let agent = try agentParameter(call)
        let services = call.services
        let versions = try await services.reading { [store = services.store] in try store.policyHistory(agentId: agent) }
        guard !versions.isEmpty else { throw CollectorAPIError.notFound("agent \(agent) has no policy") }
        return .json(versions.map(HistoryEntry.init))
    }
}

/// A validation problem or lint finding in a `PolicyRejected` answer.
struct PolicyFindingBody: Encodable {
    let finding: PolicyGate.Finding
    enum CodingKeys: String, CodingKey {
        case severity, rule, message, title, statementId = "statement_id", line, column, remediation
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(finding.severity, forKey: .severity)
        try c.encode(finding.rule, forKey: .rule)
        try c.encode(finding.message, forKey: .message)
        try c.encodeIfPresent(finding.title, forKey: .title)
        try c.encodeIfPresent(finding.statementId, forKey: .statementId)
        try c.encodeIfPresent(finding.line, forKey: .line)
        try c.encodeIfPresent(finding.column, forKey: .column)
        try c.encodeIfPresent(finding.remediation, forKey: .remediation)
    }
}
