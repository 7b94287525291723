import Foundation

/// Judges each control of each catalog against the facts.
///
/// The rules (Compliance/README.md): an `attestation` control needs a
/// person's attestation and a `not-applicable` one is listed as such. An
/// `evidence` control is a `gap` when a finding it lists is present in
/// scope, or a signal it requires is absent. Otherwise it is `evidenced`
/// when a strong signal is present, `partial` when only partial ones are,
/// and a `gap` when none of its signals is present (evidence that should be
/// there is missing).
public enum ComplianceEvaluator {
    public static func report(catalogs: [ComplianceCatalog], facts: ComplianceFacts) -> ComplianceReport {
        let frameworks = catalogs.map { catalog in
            let controls = catalog.controls.map { evaluate($0, facts: facts) }
            var counts = Dictionary(uniqueKeysWithValues: ControlStatus.allCases.map { ($0.rawValue, 0) })
            for c in controls { counts[c.status.rawValue, default: 0] += 1 }
            return ComplianceReport.FrameworkResult(framework: catalog.framework, statusCounts: counts, controls: controls)
        }
        return ComplianceReport(
            period: .init(start: ReportTime.rfc3339(facts.periodStartMs), end: ReportTime.rfc3339(facts.periodEndMs)),
            scope: .init(agent: facts.agentFilter, task: facts.taskFilter), integrity: facts.integrity, agents: facts.agents,
            records: facts.records, calls: facts.calls, signals: facts.signals.sorted { $0.signal < $1.signal },
            findings: facts.findings.sorted(), decisionsByDay: facts.decisionsByDay, decisionsByAgent: facts.decisionsByAgent,
            frameworks: frameworks)
    }

    static func evaluate(_ control: ComplianceCatalog.Control, facts: ComplianceFacts) -> ComplianceReport.ControlResult {
        var result = ComplianceReport.ControlResult(
            id: control.id, group: control.group, category: control.category, title: control.title,
            description: control.description, status: .gap, basis: "", evidence: [], findings: [], missing: [],
            attestation: control.attestation, rationale: control.rationale)
        switch control.assessment {
        case .attestation:
            result.status = .attestationNeeded
            result.basis = "Organisational: nothing a proxy records can show it; a person must attest."
            return result
        case .notApplicable:
            result.status = .notApplicable
            result.basis = control.rationale ?? "Not applicable."
            return result
        case .evidence:
            break
        }
        result.evidence = control.evidence.map { rule in
            let fact = facts.signal(rule.signal)
            return ComplianceReport.EvidenceItem(
                signal: rule.signal, strength: rule.strength, required: rule.required, present: fact?.present ?? false,
                count: fact?.count ?? 0, samples: fact?.samples ?? [], why: rule.why,
                detail: fact?.detail ?? "not computed for this report")
        }
        let gapKinds = Set(control.gapFindings)
        result.findings = facts.findings.filter { gapKinds.contains($0.kind) }.sorted()
        result.missing = result.evidence.filter { $0.required && !$0.present }.map(\.signal)
        let strongest = result.evidence.filter(\.present).map(\.strength).max()
        if !result.findings.isEmpty {
            result.status = .gap
            let kinds = Set(result.findings.map(\.kind.rawValue)).sorted().joined(separator: ", ")
            result.basis = "\(result.findings.count) finding(s) contradict this control (\(kinds))."
        } else if !result.missing.isEmpty {
            result.status = .gap
            result.basis = "Required evidence is missing: \(result.missing.map(\.rawValue).joined(separator: ", "))."
        } else if strongest == .strong {
            result.status = .evidenced
            result.basis = "Strong evidence over the period: \(result.evidence.filter { $0.present && $0.strength == .strong }.map(\.signal.rawValue).joined(separator: ", "))."
        } else if strongest == .partial {
            result.status = .partial
            result.basis = "Only partial evidence: \(result.evidence.filter(\.present).map(\.signal.rawValue).joined(separator: ", "))."
        } else {
            result.status = .gap
            result.basis = "None of the expected evidence was seen over the period: \(result.evidence.map(\.signal.rawValue).joined(separator: ", "))."
        }
        return result
    }
}

/// Times in reports: RFC 3339 UTC, to the second, independent of locale.
public enum ReportTime {
    public static func rfc3339(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    public static func day(_ ms: Int64) -> String { String(rfc3339(ms).prefix(10)) }
}
