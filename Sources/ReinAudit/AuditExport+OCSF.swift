import Foundation

extension AuditExport {
    /// The record as an OCSF API Activity event (class 6003).
    ///
    /// `status_id` is the call's outcome (Unknown for a call whose outcome a
    /// crash lost), `severity` follows Rein's decision (a refusal is Medium).
    /// A sidecar's call is by its agent (`actor.user`, type Other: an AI
    /// agent); a collector API event is by the token named in it, and the
    /// agent it concerns is its resource.
    public static func ocsf(_ r: AuditRecord, naming: Naming = .asRecorded, productVersion: String = "0.1.0") -> [String: Any] {
        let activity = isHoldEvent(r) ? (id: 99, name: r.event) : ocsfActivity(r.operation)
        let outcome = outcome(r)
        let collectorAPI = isReinOwnEvent(r)
        var api: [String: Any] = ["operation": r.operation ?? r.event]
        if let s = r.service { api["service"] = ["name": collectorAPI ? s : naming.signingName(s)] }
        if let id = r.awsRequestId { api["request"] = ["uid": id] }
        var response: [String: Any] = [:]
        if let s = r.upstreamStatus { response["code"] = s }
        if let e = errorCode(r) {
            response["error"] = e
            if let message = errorMessage(r) { response["message"] = message }
        }
        if !response.isEmpty { api["response"] = response }
        var actor: [String: Any] = ["app_name": producer(r)]
        var resources = r.grants.flatMap { g in g.resources.map { ["uid": $0] as [String: Any] } }
        if collectorAPI {
            if let token = r.accessKeyId { actor["user"] = ["uid": token, "name": token, "type": "User", "type_id": 1] as [String: Any] }
            if let agent = r.agentId { resources.append(["uid": agent, "name": agent, "type": "Rein agent"]) }
        } else {
            var user: [String: Any] = ["type": "AI agent", "type_id": 99]
            if let a = r.agentId { user["uid"] = a; user["name"] = a }
            if let k = r.accessKeyId { user["credential_uid"] = k }
            actor["user"] = user
            if let t = r.taskId { actor["session"] = ["uid": t] }
        }
        let status: (id: Int, name: String) = switch outcome {
        case .success: (1, "Success")
        case .failure: (2, "Failure")
        case .unknown: (0, "Unknown")
        }
        var event: [String: Any] = [
            "class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "category_name": "Application Activity",
            "activity_id": activity.id, "activity_name": activity.name, "type_uid": 6003 * 100 + activity.id,
            "time": epochMillis(r.time), "severity_id": r.decision == "allow" ? 1 : 3,
            "severity": r.decision == "allow" ? "Informational" : "Medium",
            "status_id": status.id, "status": status.name,
            "api": api, "actor": actor,
            "cloud": (r.region.map { ["provider": "AWS", "region": $0] } ?? ["provider": "AWS"]) as [String: Any],
            "metadata": ["version": ocsfVersion, "uid": r.recordId, "log_name": "rein.audit", "sequence": r.sequence,
                         "product": ["name": "Rein", "vendor_name": "Rein", "version": productVersion]] as [String: Any],
            "resources": resources,
            // Required by the class: where the call came from; a hold kept centrally has no address of its own.
            "src_endpoint": (r.sourceAddress.map { ["ip": $0] } ?? ["name": r.agentId ?? producer(r)]) as [String: Any],
            "unmapped": reinFacts(r),
        ]
        if let code = r.errorCode ?? errorCode(r) { event["status_code"] = code }
        if outcome != .success, let detail = errorCode(r) != nil ? errorMessage(r) : r.reason { event["status_detail"] = detail }
        if let ua = r.userAgent { event["http_request"] = ["user_agent": ua] }
        if let upstream = r.upstreamHost {
            let (host, port) = hostAndPort(upstream)
            var dst: [String: Any] = [isIPAddress(host) ? "ip" : "hostname": host]
            if let port { dst["port"] = port }
            event["dst_endpoint"] = dst
        }
        return event
    }
}
