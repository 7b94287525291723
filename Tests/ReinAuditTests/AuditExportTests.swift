import Foundation
import Testing
@testable import ReinAudit

@Suite struct AuditExportTests {
    func record(decision: String = "deny") throws -> AuditRecord {
        var chain = AuditChain()
        var r = AuditRecord(recordId: "0f9c3c1e-8f5e-4a57-9b7a-3f1e2d4c5b6a", time: "2026-11-29T10:11:12.345Z", sidecarId: "sc-1",
                            via: "endpoint", decision: decision)
        r.agentId = "agent-a"
        r.taskId = "task-1"
        r.accessKeyId = "ASIAREINAGENT"
        r.service = "s3"
        r.region = "eu-west-1"
        r.operation = "DeleteObject"
        r.grants = [.init(action: "s3:DeleteObject", resources: ["arn:aws:s3:::b/k"])]
        r.statementId = "no-deletes"
        r.reason = "explicit deny"
        r.errorCode = decision == "deny" ? "AccessDenied" : nil
        r.forwarded = decision == "allow"
        r.upstreamStatus = decision == "allow" ? 204 : nil
        r.awsRequestId = "REQ123"
        r.sourceAddress = "127.0.0.1"
        _ = try chain.seal(&r)
        return r
    }

    @Test func ocsfIsAPIActivityWithTheRightActivityAndStatus() throws {
        let e = AuditExport.ocsf(try record())
        #expect(e["class_uid"] as? Int == 6003)
        #expect(e["category_uid"] as? Int == 6)
        #expect(e["activity_id"] as? Int == 4)
        #expect(e["type_uid"] as? Int == 600304)
        #expect(e["status_id"] as? Int == 2)
        #expect(e["time"] as? Int64 == 1_795_947_072_345)
        let api = try #require(e["api"] as? [String: Any])
        #expect(api["operation"] as? String == "DeleteObject")
        #expect((api["request"] as? [String: Any])?["uid"] as? String == "REQ123")
        let unmapped = try #require(e["unmapped"] as? [String: Any])
        #expect(unmapped["decision"] as? String == "deny")
        #expect(unmapped["statement_id"] as? String == "no-deletes")
        let ok = AuditExport.ocsf(try record(decision: "allow"))
        #expect(ok["status_id"] as? Int == 1)
        #expect(AuditExport.ocsfActivity("ListBuckets").id == 2)
        #expect(AuditExport.ocsfActivity("PutObject").id == 1)
        #expect(AuditExport.ocsfActivity("Frobnicate").id == 99)
    }

    /// A policy push, as the collector records it in its own chain.
    func policyChange() -> AuditRecord {
        var r = AuditRecord(recordId: "1f9c3c1e-8f5e-4a57-9b7a-3f1e2d4c5b6a", time: "2026-11-29T10:11:12.345Z", sidecarId: "collector",
                            via: AuditRecord.collectorVia, decision: "allow")
        r.event = "policy-change"
        r.service = "rein-collector"
        r.operation = "PushPolicy"
        return r
    }

    /// The collector's own events say so, and say no region they do not have.
    @Test func collectorEventsNameTheCollectorAndNoAWSService() throws {
        let r = policyChange()
        let ocsf = AuditExport.ocsf(r)
        #expect((ocsf["actor"] as? [String: Any])?["app_name"] as? String == "rein-collector")
        let cloud = try #require(ocsf["cloud"] as? [String: Any])
        #expect(cloud["provider"] as? String == "AWS" && cloud["region"] == nil)
        let trail = AuditExport.cloudTrail(r)
        #expect(trail["eventSource"] as? String == "rein-collector")
        #expect((trail["userIdentity"] as? [String: Any])?["invokedBy"] as? String == "rein-collector")
        #expect(trail["awsRegion"] == nil)
        // A sidecar's call keeps its AWS names.
        let call = AuditExport.ocsf(try record())
        #expect((call["actor"] as? [String: Any])?["app_name"] as? String == "rein-sidecar")
        #expect((call["cloud"] as? [String: Any])?["region"] as? String == "eu-west-1")
        #expect((AuditExport.cloudTrail(try record())["userIdentity"] as? [String: Any])?["invokedBy"] as? String == "rein-sidecar")
    }

    /// A sidecar's policy_file reload: Rein's own event, not the agent's call.
    @Test func aPolicyFileReloadIsTheSidecarsOwnEventNotTheAgents() throws {
        var r = AuditRecord(recordId: "2f9c3c1e-8f5e-4a57-9b7a-3f1e2d4c5b6a", time: "2026-11-29T10:11:12.345Z", sidecarId: "sc-1",
                            via: AuditRecord.policyFileVia, decision: "allow")
        r.event = "policy-change"
        r.service = "rein-sidecar"
        r.operation = "ReloadPolicyFile"
        r.accessKeyId = "policy-file"
        r.agentId = "billing-agent"
        let trail = AuditExport.cloudTrail(r)
        #expect(trail["eventSource"] as? String == "rein-sidecar", "not rein-sidecar.amazonaws.com")
        let identity = try #require(trail["userIdentity"] as? [String: Any])
        #expect(identity["type"] as? String == "Unknown" && identity["userName"] as? String == "policy-file")
        #expect(identity["invokedBy"] as? String == "rein-sidecar")
        #expect(trail["errorCode"] == nil && trail["awsRegion"] == nil)
        let ocsf = AuditExport.ocsf(r)
        #expect((ocsf["actor"] as? [String: Any])?["app_name"] as? String == "rein-sidecar")
        #expect((ocsf["status_id"] as? Int) == 1)
    }

    @Test func cloudTrailEventsJoinOnRequestIdAndCarryTheDecision() throws {
        let e = AuditExport.cloudTrail(try record())
        #expect(e["eventSource"] as? String == "s3.amazonaws.com")
        #expect(e["eventName"] as? String == "DeleteObject")
        #expect(e["requestID"] as? String == "REQ123")
        #expect(e["eventID"] as? String == "0f9c3c1e-8f5e-4a57-9b7a-3f1e2d4c5b6a")
        #expect(e["errorCode"] as? String == "AccessDenied")
        #expect(e["eventTime"] as? String == "2026-11-29T10:11:12Z")
        #expect(e["readOnly"] as? Bool == false)
        let bytes = try AuditExport.jsonBytes(e)
        #expect(try AuditExport.jsonBytes(AuditExport.cloudTrail(try record())) == bytes)
    }

    /// Ingest accepts record times with an offset; CloudTrail's `eventTime`
    /// is UTC, so the offset is applied, not cut off.
    @Test(arguments: [("2026-03-01T10:00:00.123+05:00", "2026-03-01T05:00:00Z"), ("2026-03-01T23:30:00-01:00", "2026-03-02T00:30:00Z"),
                      ("2026-11-29T10:11:12.999Z", "2026-11-29T10:11:12Z"), ("2026-11-29T10:11:12.9999Z", "2026-11-29T10:11:12Z"),
                      ("not a time", "not a time")])
    func cloudTrailTimeIsUTC(time: String, expected: String) throws {
        var r = try record()
        r.time = time
        #expect(AuditExport.cloudTrail(r)["eventTime"] as? String == expected)
        #expect(AuditExport.ocsf(r)["time"] as? Int64 == AuditExport.epochMillis(time))
    }

    /// Outcome is not decision: what AWS or Rein answered decides `status_id`
    /// and `errorCode`, whatever the policy said.
    @Test func outcomeFollowsWhatTheCallGotNotTheDecision() throws {
        // Allowed, forwarded, and AWS refused it.
        var refused = try record(decision: "allow")
        refused.upstreamStatus = 404
        refused.errorCode = "NoSuchKey"
        #expect(AuditExport.ocsf(refused)["status_id"] as? Int == 2)
        #expect(AuditExport.cloudTrail(refused)["errorCode"] as? String == "NoSuchKey")
        // Its message is AWS's answer, not the statement that allowed the call.
        refused.reason = "statement read allows s3:GetObject on arn:aws:s3:::b/k"
        #expect(AuditExport.cloudTrail(refused)["errorMessage"] as? String == "AWS answered HTTP 404 (NoSuchKey)")
        #expect(AuditExport.ocsf(refused)["status_detail"] as? String == "AWS answered HTTP 404 (NoSuchKey)")
        #expect(((AuditExport.ocsf(refused)["api"] as? [String: Any])?["response"] as? [String: Any])?["message"] as? String
                == "AWS answered HTTP 404 (NoSuchKey)")
        // A bodiless refusal (HEAD) without a code still reads as failed.
        refused.errorCode = nil
        #expect(AuditExport.cloudTrail(refused)["errorCode"] as? String == "404")
        // Observe mode: would-deny, forwarded, AWS answered 200.
        var observed = try record(decision: "would-deny")
        observed.forwarded = true
        observed.upstreamStatus = 200
        observed.errorCode = nil
        #expect(AuditExport.ocsf(observed)["status_id"] as? Int == 1)
        #expect(AuditExport.ocsf(observed)["status_detail"] == nil)
        #expect(AuditExport.cloudTrail(observed)["errorCode"] == nil)
        // A crash lost the outcome: OCSF Unknown, and in CloudTrail an error code (never a success).
        var lost = try record(decision: "allow")
        lost.upstreamStatus = nil
        lost.errorCode = "OutcomeUnknown"
        #expect(AuditExport.ocsf(lost)["status_id"] as? Int == 0)
        #expect(AuditExport.ocsf(lost)["status_code"] as? String == "OutcomeUnknown")
        #expect(AuditExport.cloudTrail(lost)["errorCode"] as? String == "OutcomeUnknown")
        // An allowed call's policy reason is not an AWS response message.
        let ok = AuditExport.ocsf(try record(decision: "allow"))
        #expect(ok["status_detail"] == nil)
        #expect((ok["api"] as? [String: Any])?["response"].flatMap { ($0 as? [String: Any])?["message"] } == nil)
        #expect((ok["unmapped"] as? [String: Any])?["reason"] as? String == "explicit deny")
    }

    /// Hold events say how the hold went in Rein's facts, not as an AWS error,
    /// and never read as the held call itself (a held DeleteObject did not run).
    @Test func holdEventsCarryNoErrorCodeAndKeepTheirAWSNames() throws {
        var r = try record(decision: "hold-approved")
        r.event = "hold-approved"
        r.via = AuditRecord.collectorVia
        r.forwarded = false
        r.errorCode = nil
        r.sourceAddress = nil
        let trail = AuditExport.cloudTrail(r)
        #expect(trail["errorCode"] == nil)
        #expect(trail["eventSource"] as? String == "s3.amazonaws.com")
        #expect(trail["awsRegion"] as? String == "eu-west-1")
        #expect(trail["eventName"] as? String == "HoldApproved" && trail["eventType"] as? String == "AwsServiceEvent")
        #expect((trail["additionalEventData"] as? [String: Any]).flatMap { $0["rein"] as? [String: Any] }?["operation"] as? String == "DeleteObject")
        let ocsf = AuditExport.ocsf(r)
        #expect(ocsf["status_id"] as? Int == 1)
        #expect(ocsf["activity_id"] as? Int == 99 && ocsf["activity_name"] as? String == "hold-approved" && ocsf["type_uid"] as? Int == 600399)
        #expect((ocsf["api"] as? [String: Any])?["operation"] as? String == "DeleteObject")
        #expect((ocsf["src_endpoint"] as? [String: Any])?["name"] as? String == "agent-a")
        r.event = "hold-expired"
        r.decision = "hold-expired"
        #expect(AuditExport.ocsf(r)["status_id"] as? Int == 2)
        #expect(AuditExport.cloudTrail(r)["errorCode"] == nil)
    }

    /// The token that acted is the actor; the agent whose policy changed is the subject.
    @Test func collectorAPIEventsNameTheTokenAsActor() throws {
        var r = policyChange()
        r.agentId = "agent-a"
        r.accessKeyId = "alice"
        r.sourceAddress = "10.0.0.9"
        let ocsf = AuditExport.ocsf(r)
        let user = try #require((ocsf["actor"] as? [String: Any])?["user"] as? [String: Any])
        #expect(user["uid"] as? String == "alice" && user["type_id"] as? Int == 1)
        let resources = try #require(ocsf["resources"] as? [[String: Any]])
        #expect(resources.contains { $0["uid"] as? String == "agent-a" })
        #expect(ocsf["status_id"] as? Int == 1)
        let identity = try #require(AuditExport.cloudTrail(r)["userIdentity"] as? [String: Any])
        #expect(identity["userName"] as? String == "alice" && identity["type"] as? String == "Unknown")
        #expect(identity["principalId"] as? String == "alice" && identity["accessKeyId"] == nil)
        // A refused API call is a failure with AccessDenied.
        r.event = "access-denied"
        r.decision = "deny"
        r.errorCode = "AccessDenied"
        r.upstreamStatus = 403
        #expect(AuditExport.cloudTrail(r)["errorCode"] as? String == "AccessDenied")
        #expect(AuditExport.ocsf(r)["status_id"] as? Int == 2)
    }

    /// CloudTrail names services as AWS logs them, by signing name, and tells
    /// data events from management events.
    @Test func eventSourceIsTheSigningNameAndObjectCallsAreDataEvents() throws {
        var r = try record(decision: "allow")
        r.service = "cloudwatch"
        r.operation = "PutMetricData"
        r.grants = [.init(action: "cloudwatch:PutMetricData", resources: ["*"])]
        let naming = AuditExport.Naming { $0 == "cloudwatch" ? "monitoring" : $0 }
        let trail = AuditExport.cloudTrail(r, naming: naming)
        #expect(trail["eventSource"] as? String == "monitoring.amazonaws.com")
        #expect(trail["eventCategory"] as? String == "Management" && trail["managementEvent"] as? Bool == true)
        #expect(((AuditExport.ocsf(r, naming: naming)["api"] as? [String: Any])?["service"] as? [String: Any])?["name"] as? String == "monitoring")
        let object = AuditExport.cloudTrail(try record(decision: "allow"))
        #expect(object["eventCategory"] as? String == "Data" && object["managementEvent"] as? Bool == false)
        var bucket = try record(decision: "allow")
        bucket.operation = "GetBucketPolicy"
        bucket.grants = [.init(action: "s3:GetBucketPolicy", resources: ["arn:aws:s3:::b"])]
        #expect(AuditExport.cloudTrail(bucket)["eventCategory"] as? String == "Management")
        bucket.operation = "ListObjectsV2"
        #expect(AuditExport.cloudTrail(bucket)["eventCategory"] as? String == "Data")
    }

    /// readOnly is the IAM access level where the catalog knows it, the verb otherwise.
    @Test func readOnlyFollowsTheAccessLevel() throws {
        var r = try record(decision: "allow")
        r.service = "kms"
        r.operation = "DescribeKey"
        let naming = AuditExport.Naming(signingName: { $0 }, readOnly: { $0 == "kms" && $1 == "DescribeKey" ? true : nil })
        #expect(AuditExport.cloudTrail(r, naming: naming)["readOnly"] as? Bool == true)
        r.operation = "ListAliases"
        #expect(AuditExport.cloudTrail(r, naming: naming)["readOnly"] as? Bool == true) // unknown: the List verb
        r.operation = "GenerateDataKey"
        #expect(AuditExport.cloudTrail(r, naming: naming)["readOnly"] as? Bool == false)
    }

    @Test func destinationSplitsHostAndPort() throws {
        var r = try record(decision: "allow")
        r.upstreamHost = "127.0.0.1:60747"
        #expect(AuditExport.ocsf(r)["dst_endpoint"] as? [String: AnyHashable] == ["ip": "127.0.0.1", "port": 60747])
        r.upstreamHost = "s3.eu-west-1.amazonaws.com"
        #expect(AuditExport.ocsf(r)["dst_endpoint"] as? [String: AnyHashable] == ["hostname": "s3.eu-west-1.amazonaws.com"])
        r.upstreamHost = "2026-data.s3.us-east-1.amazonaws.com:443"
        #expect(AuditExport.ocsf(r)["dst_endpoint"] as? [String: AnyHashable] == ["hostname": "2026-data.s3.us-east-1.amazonaws.com", "port": 443])
        r.upstreamHost = "[::1]:8443"
        #expect(AuditExport.ocsf(r)["dst_endpoint"] as? [String: AnyHashable] == ["ip": "::1", "port": 8443])
    }
}
