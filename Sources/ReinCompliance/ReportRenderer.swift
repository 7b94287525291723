import Foundation

/// The formats `rein report` writes. Each is a pure function of the report.
public enum ReportFormat: String, Sendable, CaseIterable {
    case json, md, html, csv, oscal

    public var contentType: String {
        switch self {
        case .json, .oscal: return "application/json"
        case .md: return "text/markdown; charset=utf-8"
        case .html: return "text/html; charset=utf-8"
        case .csv: return "text/csv; charset=utf-8"
        }
    }

    public var fileExtension: String {
        switch self {
        case .json: return "json"
        case .oscal: return "oscal.json"
        case .md: return "md"
        case .html: return "html"
        case .csv: return "csv"
        }
    }
}

public enum ReportRenderer {
    public static func render(_ report: ComplianceReport, as format: ReportFormat) -> [UInt8] {
        switch format {
        case .json: return json(report)
        case .md: return Array(ReportMarkdown.render(report).utf8)
        case .csv: return Array(ReportCSV.render(report).utf8)
        case .html: return Array(ReportHTML.render(report).utf8)
        case .oscal: return ReportOSCAL.render(report)
        }
    }

    /// Sorted keys, pretty-printed, slashes unescaped: stable bytes for stable input.
    public static func json<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return ((try? encoder.encode(value)) ?? Data()).map { $0 } + [10]
    }

    static func statusLabel(_ s: ControlStatus) -> String {
        switch s {
        case .evidenced: return "Evidenced"
        case .partial: return "Partial"
        case .gap: return "Gap"
        case .attestationNeeded: return "Attestation needed"
        case .notApplicable: return "Not applicable"
        }
    }

    /// Groups in catalog order.
    static func groups(_ controls: [ComplianceReport.ControlResult]) -> [(String, [ComplianceReport.ControlResult])] {
        var order: [String] = []
        var byGroup: [String: [ComplianceReport.ControlResult]] = [:]
        for c in controls {
            if byGroup[c.group] == nil { order.append(c.group) }
            byGroup[c.group, default: []].append(c)
        }
        return order.map { ($0, byGroup[$0] ?? []) }
    }

    static func findingLine(_ f: ComplianceFinding) -> String {
        var who: [String] = []
        if let a = f.agentId { who.append("agent \(a)") }
        if let t = f.taskId { who.append("task \(t)") }
        if let s = f.sidecarId { who.append("sidecar \(s)") }
        if let p = f.policyVersion { who.append("policy v\(p)") }
        if let h = f.holdId { who.append("hold \(h)") }
        if let r = f.recordId { who.append("record \(r)") }
        return "\(f.kind.rawValue) (\(who.joined(separator: ", "))): \(f.detail)"
    }

    static func integrityHeadline(_ i: IntegrityState) -> String {
        switch i.state {
        case .verified: return "Audit logs verified: hash chains and \(i.checkpoints) signed checkpoint(s) across \(i.sidecars) sidecar(s), no integrity findings."
        case .broken: return "WARNING: the audit logs under this report are NOT intact: \(i.findings) integrity finding(s). \(i.detail)"
        case .unverified: return "Audit logs not yet covered by signed checkpoints: \(i.detail)"
        case .noData: return "No audit records in this period and scope."
        }
    }
}
