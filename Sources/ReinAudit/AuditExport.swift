import Foundation

/// Maps audit records to the shapes SIEMs already read: OCSF API Activity
/// (class 6003) and CloudTrail events.
///
/// Why both: OCSF is what security data lakes (Security Lake, Splunk, …)
/// normalise to; the CloudTrail shape lets investigators join Rein's record
/// with AWS's own CloudTrail event through `requestID`. Everything Rein knows
/// beyond each schema's fields travels under `unmapped` /
/// `additionalEventData.rein`, so no decision detail is lost in export.
public enum AuditExport {
    public static let ocsfVersion = "1.1.0"

    /// OCSF `activity_id` from the operation name's verb.
    public static func ocsfActivity(_ operation: String?) -> (id: Int, name: String) {
        guard let op = operation else { return (0, "Unknown") }
        let verbs: [(prefixes: [String], id: Int, name: String)] = [
            (["Create", "Put", "Run", "Start", "Send", "Publish", "Upload", "Invoke", "Copy", "Add", "Import", "Register", "Issue"], 1, "Create"),
            (["Get", "List", "Describe", "Head", "Query", "Scan", "Select", "Search", "Receive", "Lookup", "BatchGet", "Decode", "Decrypt", "Check"], 2, "Read"),
            (["Update", "Modify", "Set", "Tag", "Untag", "Attach", "Associate", "Change", "Enable", "Disable", "Reset", "Restore", "Replace", "Rotate", "Assume"], 3, "Update"),
            (["Delete", "Remove", "Terminate", "Detach", "Disassociate", "Purge", "Revoke", "Deregister", "Stop", "Cancel", "Abort"], 4, "Delete"),
        ]
        for v in verbs where v.prefixes.contains(where: { op.hasPrefix($0) }) { return (v.id, v.name) }
        return (99, "Other")
    }

    /// Epoch milliseconds of an RFC 3339 record time (0 when unparsable).
    static func epochMillis(_ time: String) -> Int64 {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: time) { return Int64((d.timeIntervalSince1970 * 1000).rounded()) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: time).map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
    }

    static func isSuccess(_ r: AuditRecord) -> Bool {
        guard r.forwarded else { return false }
        if let s = r.upstreamStatus { return (200..<400).contains(s) }
        return r.errorCode == nil
    }

    /// Rein's own facts, kept under `unmapped` / `additionalEventData.rein`.
    static func reinFacts(_ r: AuditRecord) -> [String: Any] {
        var m: [String: Any] = ["decision": r.decision, "event": r.event, "sidecar_id": r.sidecarId,
                                "sequence": r.sequence, "via": r.via, "forwarded": r.forwarded,
                                "bytes_in": r.bytesIn, "bytes_out": r.bytesOut,
                                "grants": r.grants.map { ["action": $0.action, "resources": $0.resources] as [String: Any] }]
        let optional: [(String, Any?)] = [
            ("task_id", r.taskId), ("statement_id", r.statementId), ("reason", r.reason), ("mode", r.mode),
            ("approver", r.approver), ("grant_id", r.grantId), ("hold_id", r.holdId), ("policy_version", r.policyVersion),
            ("broker_role", r.brokerRole), ("broker_session", r.brokerSession), ("broker_source", r.brokerSource),
            ("upstream_host", r.upstreamHost), ("prev_hash", r.prevHash), ("hash", r.hash),
        ]
        for (k, v) in optional { if let v { m[k] = v } }
        var latency: [String: Any] = [:]
        for (k, v) in [("verify_ms", r.latency.verifyMs), ("decide_ms", r.latency.decideMs), ("hold_ms", r.latency.holdMs),
                       ("upstream_ms", r.latency.upstreamMs), ("total_ms", r.latency.totalMs)] {
            if let v { latency[k] = v }
        }
        m["latency"] = latency
        return m
    }

    /// Which part of Rein wrote the record: the collector's own chain (its
    /// API's refusals and policy changes, holds kept centrally) or a sidecar.
    static func producer(_ r: AuditRecord) -> String {
        isCollectorEvent(r) ? "rein-collector" : "rein-sidecar"
    }

    static func isCollectorEvent(_ r: AuditRecord) -> Bool { r.via == AuditRecord.collectorVia }

    /// The record as an OCSF API Activity event (class 6003).
    public static func ocsf(_ r: AuditRecord, productVersion: String = "0.1.0") -> [String: Any] {
        let activity = ocsfActivity(r.operation)
        let success = isSuccess(r)
        var api: [String: Any] = ["operation": r.operation ?? r.event]
        if let s = r.service { api["service"] = ["name": s] }
        if let id = r.awsRequestId { api["request"] = ["uid": id] }
        var response: [String: Any] = [:]
        if let s = r.upstreamStatus { response["code"] = s }
        if let e = r.errorCode { response["error"] = e }
        if let reason = r.reason { response["message"] = reason }
        if !response.isEmpty { api["response"] = response }
        var user: [String: Any] = ["type": "Service", "type_id": 3]
        if let a = r.agentId { user["uid"] = a; user["name"] = a }
        if let k = r.accessKeyId { user["credential_uid"] = k }
        var actor: [String: Any] = ["user": user, "app_name": producer(r)]
        if let t = r.taskId { actor["session"] = ["uid": t] }
        var event: [String: Any] = [
            "class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "category_name": "Application Activity",
            "activity_id": activity.id, "activity_name": activity.name, "type_uid": 6003 * 100 + activity.id,
            "time": epochMillis(r.time), "severity_id": r.decision == "allow" ? 1 : 3,
            "severity": r.decision == "allow" ? "Informational" : "Medium",
            "status_id": success ? 1 : 2, "status": success ? "Success" : "Failure",
            "api": api, "actor": actor,
            "cloud": (r.region.map { ["provider": "AWS", "region": $0] } ?? ["provider": "AWS"]) as [String: Any],
            "metadata": ["version": ocsfVersion, "uid": r.recordId, "log_name": "rein.audit", "sequence": r.sequence,
                         "product": ["name": "Rein", "vendor_name": "Rein", "version": productVersion]] as [String: Any],
            "resources": r.grants.flatMap { g in g.resources.map { ["uid": $0, "type": g.action] as [String: Any] } },
            "unmapped": reinFacts(r),
        ]
        if let code = r.errorCode { event["status_code"] = code }
        if let reason = r.reason { event["status_detail"] = reason }
        if let ip = r.sourceAddress { event["src_endpoint"] = ["ip": ip] }
        if let ua = r.userAgent { event["http_request"] = ["user_agent": ua] }
        if let host = r.upstreamHost { event["dst_endpoint"] = ["hostname": host] }
        return event
    }

    /// The record as one CloudTrail-style event (an element of `Records`).
    public static func cloudTrail(_ r: AuditRecord) -> [String: Any] {
        let activity = ocsfActivity(r.operation)
        var identity: [String: Any] = ["type": "AssumedRole", "invokedBy": producer(r)]
        if let a = r.agentId { identity["principalId"] = a }
        if let k = r.accessKeyId { identity["accessKeyId"] = k }
        if let role = r.brokerRole { identity["arn"] = role }
        if let a = r.agentId { identity["sessionContext"] = ["sourceIdentity": a] }
        var event: [String: Any] = [
            "eventVersion": "1.09", "eventTime": String(r.time.prefix(19)) + "Z", "eventID": r.recordId,
            "eventType": r.event == "call" ? "AwsApiCall" : "AwsServiceEvent",
            "eventName": r.operation ?? r.event, "userIdentity": identity,
            "readOnly": activity.id == 2, "resources": r.grants.flatMap { g in g.resources.map { ["ARN": $0] } },
            "additionalEventData": ["rein": reinFacts(r)],
        ]
        // The collector's own events (policy changes, refused API calls, holds) are not AWS calls.
        if let s = r.service { event["eventSource"] = isCollectorEvent(r) ? s : "\(s).amazonaws.com" }
        if let region = r.region { event["awsRegion"] = region }
        if let ip = r.sourceAddress { event["sourceIPAddress"] = ip }
        if let ua = r.userAgent { event["userAgent"] = ua }
        if let id = r.awsRequestId { event["requestID"] = id }
        if r.decision != "allow" || r.errorCode != nil {
            event["errorCode"] = r.errorCode ?? (r.decision == "deny" ? "AccessDenied" : r.decision)
            if let reason = r.reason { event["errorMessage"] = reason }
        }
        return event
    }

    /// One JSON object as compact bytes with sorted keys (reproducible output).
    public static func jsonBytes(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
