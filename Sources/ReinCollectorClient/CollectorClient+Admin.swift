import Foundation

/// The calls of `rein policy … --collector`, `rein audit …` and `rein fleet`.
extension CollectorClient {
    public func pushPolicy(agentId: String, _ push: CollectorMessages.PolicyPush) throws(CollectorClientError) -> CollectorMessages.PolicyPushReceipt {
        let r = try exchange("POST", "/v1/policies/\(Self.escape(agentId))", body: try encode(push), accept: [200, 201])
        return try json(CollectorMessages.PolicyPushReceipt.self, r, "policy push")
    }

    public func listPolicies() throws(CollectorClientError) -> [CollectorMessages.PolicyVersionInfo] {
        try json([CollectorMessages.PolicyVersionInfo].self, try exchange("GET", "/v1/policies"), "policy list")
    }

    public func policyHistory(agentId: String) throws(CollectorClientError) -> [CollectorMessages.PolicyVersionInfo] {
        try json([CollectorMessages.PolicyVersionInfo].self,
                 try exchange("GET", "/v1/policies/\(Self.escape(agentId))/history"), "policy history")
    }

    /// One version's document text (the current one when `version` is nil).
    public func policyDocument(agentId: String, version: Int?) throws(CollectorClientError) -> String {
        let path = version.map { "/v1/policies/\(Self.escape(agentId))/versions/\($0)" } ?? "/v1/policies/\(Self.escape(agentId))"
        return try exchange("GET", path, headers: [(name: "Accept", value: "application/yaml")]).bodyText
    }

    public func rollbackPolicy(agentId: String, _ rollback: CollectorMessages.Rollback) throws(CollectorClientError) -> CollectorMessages.PolicyPushReceipt {
        let r = try exchange("POST", "/v1/policies/\(Self.escape(agentId))/rollback", body: try encode(rollback), accept: [200, 201])
        return try json(CollectorMessages.PolicyPushReceipt.self, r, "policy rollback")
    }

    /// Retires a sidecar that stopped or went silent (`rein fleet retire`);
    /// the answer is its fleet entry as JSON.
    public func retireSidecar(_ sidecarId: String, reason: String) throws(CollectorClientError) -> [UInt8] {
        try exchange("POST", "/v1/sidecars/\(Self.escape(sidecarId))/retire", body: try encode(["reason": reason])).body
    }

    /// Records matching `query`, as the collector sends them (JSONL, OCSF
    /// lines or a CloudTrail document), with the cursor for the next page.
    public func records(_ query: [(String, String)]) throws(CollectorClientError) -> (body: [UInt8], nextCursor: String?) {
        let wait = query.first { $0.0 == "wait" }.flatMap { Double($0.1) } ?? 0
        let r = try exchange("GET", "/v1/audit/records", query: query, timeout: wait + 30)
        return (r.body, r.header("X-Rein-Next-Cursor"))
    }

    /// A JSON document from a read-only route (findings, verify, fleet).
    public func getJSON(_ path: String, query: [(String, String)] = []) throws(CollectorClientError) -> [UInt8] {
        try exchange("GET", path, query: query, timeout: 120).body
    }
}
