import Foundation
import ReinCrypto
import Testing
@testable import ReinCompliance

struct ComplianceEvaluatorTests {
    func statuses(_ report: ComplianceReport) -> [String: ControlStatus] {
        Dictionary(uniqueKeysWithValues: report.frameworks[0].controls.map { ($0.id, $0.status) })
    }

    @Test func statusRules() throws {
        let catalog = try Fixture.catalog()
        let all = Set(ComplianceSignal.allCases)
        let good = ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: all))
        #expect(statuses(good) == ["T 1": .evidenced, "T 2": .evidenced, "T 3": .attestationNeeded, "T 4": .notApplicable, "T 5": .partial])
        #expect(good.frameworks[0].statusCounts == ["evidenced": 2, "partial": 1, "gap": 0, "attestation-needed": 1, "not-applicable": 1])

        // Only the partial signal of T 1: partial. No signals at all: gap (evidence missing).
        let partial = ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: [.decisionsRecorded, .fleetReporting]))
        #expect(statuses(partial)["T 1"] == .partial && statuses(partial)["T 5"] == .gap)
        #expect(partial.frameworks[0].controls[4].basis.contains("None of the expected evidence"))

        // A required signal absent: gap, naming it.
        let noFleet = ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: all.subtracting([.fleetReporting])))
        #expect(statuses(noFleet)["T 2"] == .gap && noFleet.frameworks[0].controls[1].missing == [.fleetReporting])

        // A contradicting finding wins over strong evidence, and only on the controls that list it.
        let wild = ComplianceFinding(kind: .wildcardGrant, agentId: "agent-wild", policyVersion: "3", detail: "Full access", remediation: "narrow it")
        let withFinding = ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: all, findings: [wild]))
        #expect(statuses(withFinding)["T 1"] == .gap && statuses(withFinding)["T 2"] == .evidenced)
        #expect(withFinding.frameworks[0].controls[0].findings == [wild])
    }

    @Test func jsonIsByteIdenticalForTheSameFacts() throws {
        let catalog = try Fixture.catalog()
        let facts = Fixture.facts(present: [.denialsEnforced, .callTiming])
        let a = ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: facts), as: .json)
        let b = ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: facts), as: .json)
        #expect(a == b)
        let o1 = ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: facts), as: .oscal)
        let o2 = ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: facts), as: .oscal)
        #expect(o1 == o2)
        let decoded = try JSONDecoder().decode(ComplianceReport.self, from: Data(a))
        #expect(decoded.frameworks[0].controls.count == 5 && decoded.period.start == "2026-11-18T11:06:40Z")
    }

    @Test func oscalUsesVersion5UUIDsAndTokens() throws {
        let report = ComplianceEvaluator.report(catalogs: [try Fixture.catalog()], facts: Fixture.facts(present: [.denialsEnforced]))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ReportRenderer.render(report, as: .oscal))) as? [String: Any])
        let ar = try #require(json["assessment-results"] as? [String: Any])
        let uuidPattern = try Regex("^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        #expect((ar["uuid"] as? String)?.wholeMatch(of: uuidPattern) != nil)
        let result = try #require((ar["results"] as? [[String: Any]])?.first)
        let findings = try #require(result["findings"] as? [[String: Any]])
        #expect(findings.count == 5)
        let targets = findings.compactMap { ($0["target"] as? [String: Any])?["target-id"] as? String }
        #expect(targets == ["t-1", "t-2", "t-3", "t-4", "t-5"])
        let observations = try #require(result["observations"] as? [[String: Any]])
        #expect(observations.count == 4) // one per evidence item: T 1 (2), T 2 (1), T 5 (1)
        let ids = observations.compactMap { $0["uuid"] as? String }
        #expect(Set(ids).count == ids.count && ids.allSatisfy { $0.wholeMatch(of: uuidPattern) != nil })
        // RFC 9562 appendix vector: v5 of "www.example.com" in the DNS namespace.
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(NameBasedUUIDProbe.v5(dns, "www.example.com") == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    }

    @Test func htmlIsSelfContainedWithChartsAndTheIntegrityBanner() throws {
        let catalog = try Fixture.catalog()
        let broken = ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: [], integrity: .broken)), as: .html)
        let html = String(decoding: broken, as: UTF8.self)
        #expect(html.contains("<svg") && html.contains("Decisions per day") && html.contains("Decisions by agent"))
        // No script and no external asset: the only URL is the SVG namespace, which is a name, not a fetch.
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains("src=") && !html.contains("url("))
        #expect(!html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http"))
        let banner = try #require(html.range(of: "class=\"banner bad\""))
        #expect(banner.lowerBound < html.range(of: "<h2")!.lowerBound, "the broken-chain banner comes before anything else")
        #expect(html.contains("NOT intact"))
        // No data: a sentence, not an empty chart.
        var empty = Fixture.facts(present: [])
        empty.decisionsByDay = []
        empty.decisionsByAgent = []
        let quiet = String(decoding: ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: empty), as: .html), as: UTF8.self)
        #expect(!quiet.contains("<svg") && quiet.contains("No calls in this period."))
    }

    @Test func csvQuotesAndDefusesFormulas() throws {
        var catalog = try Fixture.catalog()
        catalog.controls[0].title = "=HYPERLINK(\"x\"), with comma"
        let csv = String(decoding: ReportRenderer.render(ComplianceEvaluator.report(catalogs: [catalog], facts: Fixture.facts(present: [])), as: .csv), as: UTF8.self)
        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines[0].hasPrefix("framework,control_id,group"))
        #expect(lines[1].contains("\"'=HYPERLINK(\"\"x\"\"), with comma\""))
        #expect(lines.count == 7) // header, 5 controls, trailing empty
    }

    @Test func markdownLeadsWithIntegrityAndSummary() throws {
        let md = String(decoding: ReportRenderer.render(ComplianceEvaluator.report(catalogs: [try Fixture.catalog()],
                                                                                   facts: Fixture.facts(present: [], integrity: .broken)), as: .md), as: UTF8.self)
        let warning = try #require(md.range(of: "NOT intact"))
        #expect(warning.lowerBound < md.range(of: "## Summary")!.lowerBound)
        #expect(md.contains("#### T 3 Training: Attestation needed") && md.contains("Attestation needed: Training records."))
    }

    /// Ids from heartbeats and records are text in Markdown, never markup.
    @Test func markdownShowsRecordTextAsText() throws {
        #expect(ReportMarkdown.escape("<script>alert(2)</script>|p\nx\u{1b}") == "&lt;script&gt;alert(2)&lt;/script&gt;\\|p x")
        #expect(ReportMarkdown.escape("[click](http://x) *b* _i_ `c`") == "\\[click\\](http://x) \\*b\\* \\_i\\_ \\`c\\`")
        // The whole rendered report, integrity headline included (it names sidecar ids).
        var facts = Fixture.facts(present: [], integrity: .broken)
        facts.integrity.detail = "Integrity findings on <img/src=x/onerror=alert(1)>: records may have been altered."
        let md = String(decoding: ReportRenderer.render(ComplianceEvaluator.report(catalogs: [try Fixture.catalog()], facts: facts), as: .md),
                        as: UTF8.self)
        #expect(!md.contains("<img") && md.contains("&lt;img/src=x/onerror=alert(1)&gt;"))
    }
}

/// The v5 function under test, as a string.
enum NameBasedUUIDProbe {
    static func v5(_ ns: UUID, _ name: String) -> String {
        NameBasedUUID.v5(namespace: ns, name: name).uuidString.lowercased()
    }
}
