import Foundation
import ReinCrypto

/// An OSCAL 1.1.2 `assessment-results` document: one result per framework,
/// one observation per evidence item (a signal that a control relies on,
/// with its counts and sample records), one finding per control.
///
/// Why version 5 UUIDs: OSCAL requires UUIDs of version 4 or 5, and the
/// report must be byte-identical for the same data and period, so every
/// UUID is derived from what it names (framework, control, signal, period,
/// scope) under a Rein namespace.
enum ReportOSCAL {
    static let namespace = NameBasedUUID.v5(namespace: NameBasedUUID.urlNamespace, name: "https://rein.dev/oscal/assessment-results")
    static let oscalVersion = "1.1.2"

    static func render(_ r: ComplianceReport) -> [UInt8] {
        let identity = "\(r.period.start)|\(r.period.end)|\(r.scope.agent ?? "*")|\(r.scope.task ?? "*")"
        func uuid(_ name: String) -> String { NameBasedUUID.v5(namespace: namespace, name: identity + "|" + name).uuidString.lowercased() }

        var results: [[String: Any]] = []
        for f in r.frameworks {
            var observations: [[String: Any]] = []
            var findings: [[String: Any]] = []
            for c in f.controls {
                var related: [[String: Any]] = []
                for e in c.evidence {
                    let obsUUID = uuid("\(f.framework.id)|\(c.id)|\(e.signal.rawValue)")
                    related.append(["observation-uuid": obsUUID])
                    var evidence: [[String: Any]] = [["description": "\(e.detail) \(e.count) record(s)."]]
                    for sample in e.samples {
                        evidence.append(["href": "urn:rein:audit-record:\(sample)", "description": "sample audit record \(sample)"])
                    }
                    observations.append([
                        "uuid": obsUUID,
                        "title": "\(c.id): \(e.signal.rawValue)",
                        "description": "\(e.signal.summary). \(e.present ? "Present" : "Absent") over the period (\(e.strength.rawValue) evidence for \(c.id)): \(e.why)",
                        "props": [["name": "label", "value": e.signal.rawValue], ["name": "result", "value": e.present ? "present" : "absent"]],
                        "methods": ["EXAMINE"],
                        "types": ["control-objective"],
                        "relevant-evidence": evidence,
                        "collected": r.period.end,
                    ])
                }
                var finding: [String: Any] = [
                    "uuid": uuid("\(f.framework.id)|\(c.id)|finding"),
                    "title": "\(c.id) \(c.title)",
                    "description": ([c.basis] + c.findings.map { "Finding: \(ReportRenderer.findingLine($0)). Remediation: \($0.remediation)" }
                        + (c.attestation.map { ["Attestation needed: \($0)"] } ?? [])).joined(separator: "\n"),
                    "props": [["name": "label", "value": c.id], ["name": "status", "value": c.status.rawValue, "ns": "https://rein.dev/ns/oscal"]],
                    "target": [
                        "type": "objective-id",
                        "target-id": token(c.id),
                        "status": status(c.status),
                    ] as [String: Any],
                ]
                if !related.isEmpty { finding["related-observations"] = related }
                findings.append(finding)
            }
            var result: [String: Any] = [
                "uuid": uuid("\(f.framework.id)|result"),
                "title": "\(f.framework.name) alignment",
                "description": "Rein's evidence for \(f.framework.name) \(f.framework.version) over \(r.period.start) to \(r.period.end), scope \(ReportMarkdown.scope(r)). \(ReportRenderer.integrityHeadline(r.integrity))",
                "start": r.period.start,
                "end": r.period.end,
                "reviewed-controls": ["control-selections": [["include-all": [String: Any]()]]],
                "findings": findings,
            ]
            if !observations.isEmpty { result["observations"] = observations }
            results.append(result)
        }
        let document: [String: Any] = [
            "assessment-results": [
                "uuid": uuid("document"),
                "metadata": [
                    "title": "Rein framework-alignment assessment results",
                    "last-modified": r.period.end,
                    "version": ComplianceReport.schemaVersion,
                    "oscal-version": oscalVersion,
                    "remarks": ReportRenderer.integrityHeadline(r.integrity),
                ] as [String: Any],
                "import-ap": ["href": "urn:rein:assessment-plan:continuous-proxy-evidence"],
                "results": results,
            ] as [String: Any],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return Array(data) + [10]
    }

    /// OSCAL target-state for a Rein status; partial, attestation-needed and
    /// not-applicable are not claimed satisfied.
    static func status(_ s: ControlStatus) -> [String: Any] {
        switch s {
        case .evidenced: return ["state": "satisfied", "reason": "pass"]
        case .gap: return ["state": "not-satisfied", "reason": "fail"]
        case .partial: return ["state": "not-satisfied", "reason": "other", "remarks": "partial evidence only"]
        case .attestationNeeded: return ["state": "not-satisfied", "reason": "other", "remarks": "needs an organisational attestation"]
        case .notApplicable: return ["state": "not-satisfied", "reason": "other", "remarks": "not applicable"]
        }
    }

    /// An OSCAL token: letters, digits, `.`, `-`, `_`, starting with a letter or `_`.
    static func token(_ id: String) -> String {
        var out = String(id.lowercased().map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-" ? $0 : "-" })
        if let first = out.first, !(first.isLetter || first == "_") { out = "_" + out }
        return out
    }
}
