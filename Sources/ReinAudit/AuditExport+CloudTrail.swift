import Foundation

extension AuditExport {
    /// The record as one CloudTrail-style event (an element of `Records`).
    ///
    /// `errorCode` is set only when the call failed, as CloudTrail sets it:
    /// AWS's code for a forwarded call AWS refused, Rein's (`AccessDenied`, …)
    /// for a call Rein refused. `eventSource` is the service's signing name
    /// (`monitoring.amazonaws.com` for CloudWatch), as AWS logs it.
    public static func cloudTrail(_ r: AuditRecord, naming: Naming = .asRecorded) -> [String: Any] {
        let activity = ocsfActivity(r.operation)
        let collectorAPI = isReinOwnEvent(r)
        var identity: [String: Any] = ["invokedBy": producer(r)]
        var resources = r.grants.flatMap { g in g.resources.map { ["ARN": $0] } }
        if collectorAPI {
            // A token of the collector's, not an AWS principal.
            identity["type"] = "Unknown"
            if let token = r.accessKeyId { identity["userName"] = token; identity["principalId"] = token }
            if let agent = r.agentId { resources.append(["ARN": agent, "type": "Rein::Agent"]) }
        } else {
            identity["type"] = "AssumedRole"
            if let a = r.agentId { identity["principalId"] = a; identity["sessionContext"] = ["sourceIdentity": a] }
            if let k = r.accessKeyId { identity["accessKeyId"] = k }
            if let role = r.brokerRole { identity["arn"] = role }
        }
        var event: [String: Any] = [
            "eventVersion": "1.11", "eventTime": cloudTrailTime(r.time), "eventID": r.recordId,
            "eventType": r.event == "call" ? "AwsApiCall" : "AwsServiceEvent",
            "eventName": isHoldEvent(r) ? pascalCase(r.event) : r.operation ?? r.event, "userIdentity": identity,
            "readOnly": readOnly(r, naming: naming, activity: activity.id), "resources": resources,
            "additionalEventData": ["rein": reinFacts(r)],
        ]
        if let s = r.service {
            event["eventSource"] = collectorAPI ? s : "\(naming.signingName(s)).amazonaws.com"
            if !collectorAPI {
                let data = isDataEvent(signingName: naming.signingName(s), operation: r.operation, grants: r.grants)
                event["eventCategory"] = data ? "Data" : "Management"
                event["managementEvent"] = !data
            }
        }
        if let region = r.region, !collectorAPI { event["awsRegion"] = region }
        if let ip = r.sourceAddress { event["sourceIPAddress"] = ip }
        if let ua = r.userAgent { event["userAgent"] = ua }
        if let id = r.awsRequestId { event["requestID"] = id }
        if let code = errorCode(r) {
            event["errorCode"] = code
            if let message = errorMessage(r) { event["errorMessage"] = message }
        }
        return event
    }

    /// CloudTrail's `eventTime`: UTC to the second. A record time with an
    /// offset (`+05:00`, which ingest accepts) is moved to UTC, not cut; one
    /// that is not a time stays as it was, rather than reading as 1970.
    static func cloudTrailTime(_ time: String) -> String {
        let ms = epochMillis(time)
        guard ms != 0 else { return time }
        let utc = AuditRecord.timestamp(Date(timeIntervalSince1970: Double(ms) / 1000))
        return String(utc.prefix(19)) + "Z"
    }

    /// CloudTrail's `readOnly`: the IAM access level of the operation's
    /// action (Read or List) where the catalog knows it, else a Read verb.
    static func readOnly(_ r: AuditRecord, naming: Naming, activity: Int) -> Bool {
        if let s = r.service, let op = r.operation, let known = naming.readOnly(s, op) { return known }
        return activity == 2
    }

    /// CloudTrail's data events (logged only when a trail asks for them):
    /// S3 object-level calls, DynamoDB item calls, Lambda invocations.
    /// Everything else is a management event.
    static func isDataEvent(signingName: String, operation: String?, grants: [AuditRecord.Grant]) -> Bool {
        switch signingName {
        case "s3":
            // Object-level: the resource is an object, or the call lists a bucket's objects.
            return grants.contains { g in g.resources.contains { arn in arn.range(of: ":s3:::").map { arn[$0.upperBound...].contains("/") } ?? false } }
                || ["ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads"].contains(operation ?? "")
        case "dynamodb":
            return grants.contains { g in
                ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
                 "TransactGetItems", "TransactWriteItems", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete"]
                    .contains(g.action.split(separator: ":").last.map(String.init) ?? "")
            }
        case "lambda":
            return operation == "Invoke" || operation == "InvokeWithResponseStream"
        default:
            return false
        }
    }
}
