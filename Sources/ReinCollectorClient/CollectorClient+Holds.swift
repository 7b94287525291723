import Foundation
import ReinHolds

/// The holds API (docs/collector-api.md, "Holds") as blocking calls, for
/// the CLI and for ``RemoteHoldLedger``. The same paths are served by the
/// collector and by a standalone sidecar's admin listener.
extension CollectorClient {
    struct HoldList: Decodable { let holds: [Hold] }
    struct Consumed: Decodable { let used: Bool }

    public func listHolds(status: HoldStatus?, agentId: String? = nil) throws(CollectorClientError) -> [Hold] {
        var query: [(String, String)] = [("status", status?.rawValue ?? "all")]
        if let agentId { query.append(("agent", agentId)) }
        return try json(HoldList.self, exchange("GET", "/v1/holds", query: query), "list holds").holds
    }

    /// The hold, or nil when the server does not have it.
    public func hold(id: String) throws(CollectorClientError) -> Hold? {
        let r = try exchange("GET", "/v1/holds/\(Self.escape(id))", accept: [200, 404])
        return r.status == 404 ? nil : try json(Hold.self, r, "show hold")
    }

    public func approveHold(id: String, scope: ApprovalScope, forSeconds: Double?, reason: String) throws(CollectorClientError) -> Hold {
        struct Body: Encodable {
            let reason: String
            let scope: String
            let forSeconds: Double?
            enum CodingKeys: String, CodingKey { case reason, scope, forSeconds = "for_seconds" }
        }
        let body = try encode(Body(reason: reason, scope: scope.rawValue, forSeconds: forSeconds))
        return try json(Hold.self, exchange("POST", "/v1/holds/\(Self.escape(id))/approve", body: body), "approve hold")
    }

    public func denyHold(id: String, reason: String) throws(CollectorClientError) -> Hold {
        struct Body: Encodable { let reason: String }
        return try json(Hold.self, exchange("POST", "/v1/holds/\(Self.escape(id))/deny", body: encode(Body(reason: reason))), "deny hold")
    }

    public func registerHold(_ new: NewHold) throws(CollectorClientError) -> Hold {
        try json(Hold.self, exchange("POST", "/v1/holds", body: encode(new), answerLimit: Self.documentAnswerBytes), "register hold")
    }

    /// Long-polls the hold until it is decided or `seconds` pass.
    public func waitForHold(id: String, seconds: Double) throws(CollectorClientError) -> Hold {
        let r = try exchange("GET", "/v1/holds/\(Self.escape(id))/wait", query: [("timeout", String(format: "%.3f", seconds))],
                             timeout: seconds + 15, answerLimit: Self.documentAnswerBytes)
        return try json(Hold.self, r, "wait for hold")
    }

    public func consumeHold(id: String) throws(CollectorClientError) -> Bool {
        try json(Consumed.self, exchange("POST", "/v1/holds/\(Self.escape(id))/consume", answerLimit: Self.documentAnswerBytes), "use hold").used
    }

    public func matchingGrant(agentId: String, taskId: String, grants: [HoldGrantItem]) throws(CollectorClientError) -> HoldGrant? {
        struct Body: Encodable {
            let agentId: String
            let taskId: String
            let grants: [HoldGrantItem]
            enum CodingKeys: String, CodingKey { case agentId = "agent_id", taskId = "task_id", grants }
        }
        let r = try exchange("POST", "/v1/grants/match", body: encode(Body(agentId: agentId, taskId: taskId, grants: grants)),
                             accept: [200, 404], answerLimit: Self.documentAnswerBytes)
        return r.status == 404 ? nil : try json(HoldGrant.self, r, "match grant")
    }
}
