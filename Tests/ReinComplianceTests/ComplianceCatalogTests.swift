import Foundation
import Testing
@testable import ReinCompliance

struct ComplianceCatalogTests {
    /// The reference's control ids per framework (the shared reference file).
    static func referenceIds() throws -> [String: [String]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixture.referencePath))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let frameworks = try #require(root["frameworks"] as? [String: Any])
        func ids(_ key: String, field: String, list: String) throws -> [String] {
            let f = try #require(frameworks[key] as? [String: Any])
            let items = try #require(f[list] as? [[String: Any]])
            return items.compactMap { $0[field] as? String }
        }
        return [
            "nist-ai-rmf-1.0": try ids("nist-ai-rmf-1.0", field: "id", list: "controls"),
            "owasp-agentic-top10-2026": try ids("owasp-agentic-top10-2026", field: "id", list: "controls"),
            "owasp-nhi-top10-2025": try ids("owasp-nhi-top10-2025", field: "id", list: "controls"),
            "csa-maestro": try ids("csa-maestro", field: "layer", list: "layers"),
        ]
    }

    @Test func everyCatalogMatchesTheReferenceIdsExactly() throws {
        let catalogs = try ComplianceCatalogLoader.loadAll(directory: Fixture.complianceDir)
        let reference = try Self.referenceIds()
        #expect(Set(catalogs.map(\.framework.id)) == Set(reference.keys))
        for catalog in catalogs {
            let expected = try #require(reference[catalog.framework.id])
            let ids = catalog.controls.map(\.id)
            #expect(Set(ids).subtracting(expected).isEmpty, "invented in \(catalog.framework.id): \(Set(ids).subtracting(expected).sorted())")
            #expect(Set(expected).subtracting(ids).isEmpty, "missing from \(catalog.framework.id): \(Set(expected).subtracting(ids).sorted())")
            #expect(ids.count == expected.count)
        }
        let nist = try #require(catalogs.first { $0.framework.id == "nist-ai-rmf-1.0" })
        #expect(nist.controls.count == 72 && nist.controls.first?.id == "GOVERN 1.1" && nist.controls.last?.id == "MANAGE 4.3")
        #expect(Set(nist.controls.map(\.group)) == ["GOVERN", "MAP", "MEASURE", "MANAGE"])
    }

    @Test func catalogsAreHonest() throws {
        // A catalog that marks everything as evidence is worse than none: most of
        // NIST AI RMF is organisational, and a proxy cannot show it.
        let catalogs = try ComplianceCatalogLoader.loadAll(directory: Fixture.complianceDir)
        let nist = try #require(catalogs.first { $0.framework.id == "nist-ai-rmf-1.0" })
        let attest = nist.controls.filter { $0.assessment == .attestation }.count
        #expect(attest >= 30, "only \(attest) NIST subcategories need attestation")
        for catalog in catalogs {
            for c in catalog.controls where c.assessment == .evidence {
                #expect(!c.evidence.isEmpty)
            }
        }
    }

    @Test(arguments: [
        ("color: red", "unknown key"),
        ("evidence:\n      - {signal: vibes, strength: strong, why: x}", "must be one of"),
        ("evidence:\n      - {signal: call-timing, strength: huge, why: x}", "strong or partial"),
        ("gap_findings: [feelings]", "is not one of"),
    ])
    func strictLoading(extra: String, message: String) {
        let yaml = """
            framework: {id: t, name: T, short: T, version: "1", publisher: P, url: https://x}
            controls:
              - id: "A 1"
                group: G
                category: "A 1"
                title: t
                description: d
                assessment: evidence
                \(extra)
            """
        do {
            _ = try ComplianceCatalogLoader.parse(yaml, file: "t.yaml")
            Issue.record("accepted: \(extra)")
        } catch {
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test func inconsistentAssessmentsAreRefused() {
        let noAttestation = """
            framework: {id: t, name: T, short: T, version: "1", publisher: P, url: https://x}
            controls:
              - {id: "A 1", group: G, category: "A 1", title: t, description: d, assessment: attestation}
            """
        #expect(throws: ComplianceCatalogError.self) { try ComplianceCatalogLoader.parse(noAttestation, file: "t.yaml") }
        let duplicate = """
            framework: {id: t, name: T, short: T, version: "1", publisher: P, url: https://x}
            controls:
              - {id: "A 1", group: G, category: "A 1", title: t, description: d, assessment: attestation, attestation: x}
              - {id: "A 1", group: G, category: "A 1", title: t, description: d, assessment: attestation, attestation: x}
            """
        #expect(throws: ComplianceCatalogError.self) { try ComplianceCatalogLoader.parse(duplicate, file: "t.yaml") }
    }
}
