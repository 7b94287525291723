import Foundation
import Testing
@testable import ReinAudit

struct JSONLAuditSinkTests {
    func tempPath() -> String {
        NSTemporaryDirectory() + "rein-audit-\(UUID().uuidString)/audit.jsonl"
    }

    @Test func appendsOneLinePerRecordWithPrivateMode() throws {
        let path = tempPath()
        let sink = try JSONLAuditSink(path: path)
        var r = AuditRecord(recordId: "r1", time: "2026-11-29T00:00:00.000Z", sidecarId: "sc", via: "endpoint", decision: "allow")
        r.grants = [.init(action: "s3:GetObject", resources: ["arn:aws:s3:::b/k"])]
        try sink.record(r)
        r.recordId = "r2"
        r.decision = "deny"
        try sink.record(r)
        sink.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let decoded = try JSONDecoder().decode(AuditRecord.self, from: Data(lines[1].utf8))
        #expect(decoded.recordId == "r2" && decoded.decision == "deny")
        #expect(lines[0].contains(#""grants":[{"action":"s3:GetObject","resources":["arn:aws:s3:::b/k"]}]"#))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func closedSinkFailsInsteadOfDropping() throws {
        let sink = try JSONLAuditSink(path: tempPath())
        sink.close()
        #expect(throws: AuditSinkError.self) {
            try sink.record(AuditRecord(recordId: "x", time: "t", sidecarId: "s", via: "endpoint", decision: "allow"))
        }
    }

    @Test func timestampIsRFC3339Milliseconds() {
        #expect(AuditRecord.timestamp(Date(timeIntervalSince1970: 1_795_000_000.1234)) == "2026-11-18T11:06:40.123Z")
    }
}
