import Foundation
import Testing
import ReinAudit
@testable import ReinCollector
import ReinStore

@Suite struct IntegrityAlertMessageTests {
    static func finding(_ id: Int64, _ kind: IntegrityFinding.Kind, sidecar: String = "sc-1", sequence: Int64? = nil) -> StoredFinding {
        StoredFinding(id: id, finding: IntegrityFinding(kind: kind, sidecarId: sidecar, sequence: sequence ?? id, recordId: "rec-\(id)",
                                                        detail: "detail \(id)"), foundAt: 1_700_000_000_000 + id)
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func oneFindingNamesItsKindSidecarAndSequence() throws {
        let body = try Self.decode(IntegrityAlertMessage.payload(for: [Self.finding(7, .hashMismatch, sequence: 5)], consoleURL: nil))
        let text = try #require(body["text"] as? String)
        #expect(text.hasPrefix("Rein audit integrity finding on sidecar sc-1 (hash-mismatch × 1)"))
        #expect(text.contains("#7 hash-mismatch at sequence 5 of sc-1: detail 7"))
        let rein = try #require(body["rein"] as? [String: Any])
        #expect(rein["alert"] as? String == "audit-integrity")
        #expect(rein["count"] as? Int == 1)
        let findings = try #require(rein["findings"] as? [[String: Any]])
        #expect(findings.count == 1)
        #expect(findings[0]["kind"] as? String == "hash-mismatch")
        #expect(findings[0]["sequence"] as? Int == 5)
        #expect(findings[0]["record_id"] as? String == "rec-7")
        #expect(findings[0]["found_ms"] as? Int == 1_700_000_000_007)
        #expect((rein["links"] as? [String: String])?.isEmpty == true)
        #expect((body["blocks"] as? [[String: Any]])?.count == 2)
    }

    @Test func manyFindingsListTheFirstFewAndCarryThemAll() throws {
        var findings: [StoredFinding] = []
        for id in Int64(1)...12 {
            let kind: IntegrityFinding.Kind = id == 3 ? .outOfOrder : .gap
            findings.append(Self.finding(id, kind, sidecar: id % 2 == 0 ? "sc-b" : "sc-a"))
        }
        let body = try Self.decode(IntegrityAlertMessage.payload(for: findings, consoleURL: "https://rein.example.com/"))
        let text = try #require(body["text"] as? String)
        #expect(text.hasPrefix("Rein audit integrity: 12 findings on sidecars sc-a, sc-b (gap × 11, out-of-order × 1)"))
        #expect(text.contains("#5 gap"))
        #expect(!text.contains("#6 gap"))
        #expect(text.hasSuffix("… and 7 more"))
        let rein = try #require(body["rein"] as? [String: Any])
        let all = try #require(rein["findings"] as? [[String: Any]])
        #expect(all.compactMap { $0["id"] as? Int } == Array(1...12))
        #expect(rein["sidecars"] as? [String] == ["sc-a", "sc-b"])
        let links = try #require(rein["links"] as? [String: String])
        #expect(links["sc-a"] == "https://rein.example.com/v1/audit/findings?sidecar=sc-a")
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        #expect(blocks.count == 3)
    }
}
