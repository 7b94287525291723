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

    /// The collector's own events say so, and say no region they do not have.
    @Test func collectorEventsNameTheCollectorAndNoAWSService() throws {
        var r = AuditRecord(recordId: "1f9c3c1e-8f5e-4a57-9b7a-3f1e2d4c5b6a", time: "2026-11-29T10:11:12.345Z", sidecarId: "collector",
                            via: AuditRecord.collectorVia, decision: "allow")
        r.event = "policy-change"
        r.service = "rein-collector"
        r.operation = "PushPolicy"
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
}
