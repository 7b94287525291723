import Foundation

/// The holds HTTP API, independent of any server: the collector's routes and
/// a standalone sidecar's admin listener both hand requests here, so
/// approvers, sidecars and the CLI see one API with one set of rules.
///
/// Routes (paths under `/v1`):
/// - `GET holds[?status=pending&agent=A]`, `GET holds/{id}`: approvers,
///   auditors, and a sidecar for its own agents;
/// - `POST holds/{id}/approve` `{"reason", "scope": "request"|"action-resource", "for_seconds"}`,
///   `POST holds/{id}/deny` `{"reason"}`: approvers only; never a sidecar's
///   token, and not the owner of the hold's agent unless configured;
/// - `POST holds` (a ``NewHold``), `GET holds/{id}/wait?timeout=S`,
///   `POST holds/{id}/consume`, `POST grants/match`: sidecars, for their own agents.
public struct HoldAPI: Sendable {
    public struct Request: Sendable {
        public var method: String
        /// Path segments after `/v1`, e.g. `["holds", "h-4k7q2mzd", "approve"]`.
        public var path: [String]
        public var query: [String: String]
        public var body: [UInt8]

        public init(method: String, path: [String], query: [String: String], body: [UInt8]) {
            self.method = method
            self.path = path
            self.query = query
            self.body = body
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// Seconds for `Retry-After`, on an answer that passes with time (a full disk).
        public var retryAfter: Int? = nil
    }

    public let ledger: any HoldLedger
    public let settings: HoldSettings
    /// The longest a `wait` call may block.
    public let maxWait: Duration

    public init(ledger: any HoldLedger, settings: HoldSettings, maxWait: Duration = .seconds(60)) {
        self.ledger = ledger
        self.settings = settings
        self.maxWait = maxWait
    }

    /// True for paths (after `/v1`) this API answers.
    public static func handles(_ path: [String]) -> Bool {
        path.first == "holds" || path == ["grants", "match"]
    }

    /// Answers one request; `actor` is nil when no valid credentials came.
    public func handle(_ request: Request, actor: HoldActor?) async -> Response {
        do throws(HoldError) {
            guard let actor else { throw HoldError(.unauthenticated, "a bearer token with the approver, auditor or sidecar role is required") }
            return try await route(request, actor: actor)
        } catch {
            var response = Self.json(ErrorBody(code: error.code, message: error.message), status: error.httpStatus)
            if error.kind == .diskFull { response.retryAfter = 30 }
            return response
        }
    }

    private func route(_ r: Request, actor: HoldActor) async throws(HoldError) -> Response {
        switch (r.method, r.path.count) {
        case ("GET", 1) where r.path == ["holds"]:
            var filter = HoldFilter(agentId: r.query["agent"])
            if let status = r.query["status"], status != "all" {
                guard let s = HoldStatus(rawValue: status) else {
                    throw HoldError(.badRequest, "status must be one of pending, approved, denied, expired, all")
                }
                filter.status = s
            }
            if !actor.capabilities.contains(.read) {
                try require(actor, .register)
                filter.agents = actor.agents
            }
            return Self.json(HoldList(holds: try await ledger.list(filter)))
        case ("POST", 1) where r.path == ["holds"]:
            try require(actor, .register)
            let new: NewHold = try decode(r.body)
            try serves(actor, new.agentId)
            try validate(new)
            return Self.json(try await ledger.register(new))
        case ("POST", 2) where r.path == ["grants", "match"]:
            try require(actor, .register)
            let body: GrantMatch = try decode(r.body)
            try serves(actor, body.agentId)
            guard let grant = try await ledger.matchingGrant(agentId: body.agentId, taskId: body.taskId, grants: body.grants) else {
                throw HoldError(.notFound, "no live grant covers these actions and resources")
            }
            return Self.json(grant)
        case (_, 2), (_, 3):
            guard r.path[0] == "holds" else { break }
            let id = r.path[1]
            guard HoldIdentity.isValidId(id), id.hasPrefix("h-") else { throw HoldError(.badRequest, "\(id.prefix(40).debugDescription) is not a hold id (h- and 8 characters)") }
            return try await holdRoute(r, id: id, verb: r.path.count == 3 ? r.path[2] : nil, actor: actor)
        default:
            break
        }
        throw HoldError(.notFound, "no such holds route: \(r.method) /v1/\(r.path.joined(separator: "/"))")
    }

    private func holdRoute(_ r: Request, id: String, verb: String?, actor: HoldActor) async throws(HoldError) -> Response {
        switch (r.method, verb) {
        case ("GET", nil):
            let hold = try await existing(id)
            if !actor.capabilities.contains(.read) {
                try require(actor, .register)
                try serves(actor, hold.agentId)
            }
            return Self.json(hold)
        case ("GET", "wait"):
            try require(actor, .register)
            try serves(actor, try await existing(id).agentId)
            let seconds = try r.query["timeout"].map { text throws(HoldError) in
                guard let s = Double(text), s >= 0, s.isFinite else { throw HoldError(.badRequest, "timeout must be a number of seconds ≥ 0") }
                return s
            } ?? 20
            let limit = Double(maxWait.components.seconds)
            let timeout = Duration.milliseconds(Int64(min(seconds, limit) * 1000))
            return Self.json(try await ledger.waitForDecision(id: id, timeout: timeout))
        case ("POST", "consume"):
            try require(actor, .register)
            try serves(actor, try await existing(id).agentId)
            return Self.json(Consumed(used: try await ledger.consume(id: id)))
        case ("POST", "approve"), ("POST", "deny"):
            try mayDecide(actor)
            let hold = try await existing(id)
            if hold.agentId.isEmpty == false, actor.ownsAgents.contains(hold.agentId), !settings.allowOwnerApproval {
                throw HoldError(.forbidden, "\(actor.name) owns agent \(hold.agentId), so cannot decide its holds (separation of duties; holds.allow_owner_approval is off)")
            }
            let body: DecisionBody = try decode(r.body)
            let reason = body.reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard !reason.isEmpty else { throw HoldError(.badRequest, "a reason is required") }
            guard reason.utf8.count <= 1000 else { throw HoldError(.badRequest, "the reason is longer than 1000 bytes") }
            let decision: HoldDecision
            if verb == "deny" {
                decision = .deny(reason: reason)
            } else {
                let scope = body.scope.map { ApprovalScope(rawValue: $0) } ?? .request
                guard let scope else { throw HoldError(.badRequest, "scope must be request or action-resource") }
                var duration: Duration?
                if let seconds = body.forSeconds {
                    guard seconds > 0, seconds.isFinite else { throw HoldError(.badRequest, "for_seconds must be positive") }
                    guard scope == .actionResource else {
                        throw HoldError(.badRequest, "a duration applies to scope action-resource; a request approval is one-shot")
                    }
                    let maxSeconds = Double(settings.maxGrant.components.seconds)
                    guard seconds <= maxSeconds else {
                        throw HoldError(.badRequest, "for_seconds \(Int(seconds)) is longer than the configured maximum grant of \(Int(maxSeconds)) s (holds.max_grant)")
                    }
                    duration = .milliseconds(Int64(seconds * 1000))
                }
                decision = .approve(scope: scope, duration: duration, reason: reason)
            }
            return Self.json(try await ledger.decide(id: id, decision, by: actor.name))
        default:
            throw HoldError(.notFound, "no such holds route: \(r.method) /v1/\(r.path.joined(separator: "/"))")
        }
    }

    // MARK: - rules

    private func require(_ actor: HoldActor, _ capability: HoldActor.Capability) throws(HoldError) {
        guard actor.capabilities.contains(capability) else {
            throw HoldError(.forbidden, "token \(actor.name) may not \(Self.verb(capability))")
        }
    }

    private func mayDecide(_ actor: HoldActor) throws(HoldError) {
        guard !actor.isSidecar else {
            throw HoldError(.forbidden, "token \(actor.name) is a sidecar's credential, and a sidecar can never approve or deny holds")
        }
        try require(actor, .decide)
    }

    private func serves(_ actor: HoldActor, _ agent: String) throws(HoldError) {
        guard actor.agents.contains(agent) else {
            throw HoldError(.forbidden, "token \(actor.name) does not serve agent \(agent)")
        }
    }

    private static func verb(_ c: HoldActor.Capability) -> String {
        switch c {
        case .register: return "register or use holds (sidecar role)"
        case .decide: return "approve or deny holds (approver role)"
        case .read: return "read holds (approver or auditor role)"
        }
    }

    private func existing(_ id: String) async throws(HoldError) -> Hold {
        guard let hold = try await ledger.hold(id: id) else { throw HoldError(.notFound, "no hold \(id)") }
        return hold
    }

    private func validate(_ new: NewHold) throws(HoldError) {
        guard new.key.count == 64, new.key.allSatisfy(\.isHexDigit) else { throw HoldError(.badRequest, "key must be 64 hex digits") }
        guard !new.sidecarId.isEmpty, !new.agentId.isEmpty, !new.operation.isEmpty else {
            throw HoldError(.badRequest, "sidecar_id, agent_id and operation are required")
        }
    }

    private func decode<T: Decodable>(_ body: [UInt8]) throws(HoldError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.isEmpty ? Array("{}".utf8) : body))
        } catch {
            throw HoldError(.badRequest, "the body is not the expected JSON: \(error)")
        }
    }

    // MARK: - bodies

    struct ErrorBody: Encodable {
        let code: String
        let message: String
    }

    struct HoldList: Encodable {
        let holds: [Hold]
    }

    struct Consumed: Encodable {
        let used: Bool
    }

    struct GrantMatch: Decodable {
        let agentId: String
        let taskId: String
        let grants: [HoldGrantItem]
        enum CodingKeys: String, CodingKey { case agentId = "agent_id", taskId = "task_id", grants }
    }

    struct DecisionBody: Decodable {
        let reason: String?
        let scope: String?
        let forSeconds: Double?
        enum CodingKeys: String, CodingKey { case reason, scope, forSeconds = "for_seconds" }
    }

    static func json<T: Encodable>(_ value: T, status: Int = 200) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            return Response(status: 500, body: Array(#"{"code":"InternalError","message":"could not encode the answer"}"#.utf8))
        }
        return Response(status: status, body: Array(data))
    }
}
