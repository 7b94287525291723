import Foundation
@testable import ReinCompliance

/// Paths and a small catalog for the tests.
enum Fixture {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var complianceDir: String { repo.appendingPathComponent("Compliance").path }
    static var referencePath: String { repo.deletingLastPathComponent().appendingPathComponent("shared/reference/framework-controls.json").path }

    static let catalogYAML = """
        framework:
          id: test-framework
          name: Test Framework
          short: TF
          version: "1.0"
          publisher: Rein tests
          url: https://example.com/tf
        controls:
          - id: "T 1"
            group: LEAST
            category: "T 1"
            title: Least privilege
            description: Calls outside scope are denied.
            assessment: evidence
            evidence:
              - {signal: denials-enforced, strength: strong, why: denials show enforcement}
              - {signal: decisions-recorded, strength: partial, why: decisions are recorded}
            gap_findings: [wildcard-grant]
          - id: "T 2"
            group: LEAST
            category: "T 2"
            title: Fleet inventory
            description: Every agent has a reporting sidecar.
            assessment: evidence
            evidence:
              - {signal: fleet-reporting, strength: strong, required: true, why: inventory}
            gap_findings: [silent-sidecar]
          - id: "T 3"
            group: ORG
            category: "T 3"
            title: Training
            description: People are trained.
            assessment: attestation
            attestation: Training records.
          - id: "T 4"
            group: ORG
            category: "T 4"
            title: Models
            description: Model internals.
            assessment: not-applicable
            rationale: Rein never sees the model.
          - id: "T 5"
            group: ORG
            category: "T 5"
            title: Partial only
            description: Timing.
            assessment: evidence
            evidence:
              - {signal: call-timing, strength: partial, why: timing}
        """

    static func catalog() throws -> ComplianceCatalog {
        try ComplianceCatalogLoader.parse(catalogYAML, file: "test-framework.yaml")
    }

    static func facts(present: Set<ComplianceSignal>, findings: [ComplianceFinding] = [], integrity: IntegrityState.State = .verified) -> ComplianceFacts {
        ComplianceFacts(
            periodStartMs: 1_795_000_000_000, periodEndMs: 1_795_000_000_000 + 30 * 86_400_000, agentFilter: nil, taskFilter: nil,
            agents: ["agent-good", "agent-wild"],
            signals: ComplianceSignal.allCases.map { SignalFact(signal: $0, present: present.contains($0), count: present.contains($0) ? 10 : 0,
                                                               samples: present.contains($0) ? ["rec-1", "rec-2"] : [], detail: "\($0.rawValue) detail") },
            findings: findings,
            decisionsByDay: [DecisionCounts(label: "2026-11-20", counts: ["allow": 40, "deny": 3]),
                             DecisionCounts(label: "2026-11-21", counts: ["allow": 12, "hold-approved": 2])],
            decisionsByAgent: [DecisionCounts(label: "agent-good", counts: ["allow": 50, "hold-approved": 2]),
                               DecisionCounts(label: "agent-wild", counts: ["allow": 2, "deny": 3])],
            integrity: IntegrityState(state: integrity, findings: integrity == .broken ? 1 : 0, checkpoints: 4, sidecars: 2,
                                      detail: integrity == .broken ? "edit at sequence 7 on sc-bad" : "ok"),
            records: 59, calls: 57)
    }
}
