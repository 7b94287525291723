/// One row per control (RFC 4180), for spreadsheets and ticket imports.
enum ReportCSV {
    static let header = ["framework", "control_id", "group", "category", "title", "status", "basis", "evidence", "findings", "attestation",
                         "period_start", "period_end", "scope_agent", "scope_task", "integrity"]

    static func render(_ r: ComplianceReport) -> String {
        var rows = [header]
        for f in r.frameworks {
            for c in f.controls {
                let evidence = c.evidence.map { "\($0.signal.rawValue)=\($0.present ? $0.count : 0)\($0.strength == .strong ? "(strong)" : "")" }.joined(separator: "; ")
                let findings = c.findings.map(ReportRenderer.findingLine).joined(separator: "; ")
                rows.append([f.framework.id, c.id, c.group, c.category, c.title, c.status.rawValue, c.basis, evidence, findings,
                             c.attestation ?? c.rationale ?? "", r.period.start, r.period.end, r.scope.agent ?? "", r.scope.task ?? "",
                             r.integrity.state.rawValue])
            }
        }
        return rows.map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func field(_ s: String) -> String {
        // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
        let guarded = s.first.map { "=+-@".contains($0) } == true ? "'" + s : s
        guard guarded.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || guarded != s else { return guarded }
        return "\"" + guarded.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
