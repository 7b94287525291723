/// A Markdown report: summary first, then each framework by group.
enum ReportMarkdown {
    static func render(_ r: ComplianceReport) -> String {
        var out: [String] = []
        out.append("# Rein framework-alignment report")
        out.append("")
        out.append("Period: \(r.period.start) to \(r.period.end). Scope: \(scope(r)).")
        out.append("")
        out.append((r.integrity.state == .broken ? "> **" : "> ") + escape(ReportRenderer.integrityHeadline(r.integrity))
                   + (r.integrity.state == .broken ? "**" : ""))
        out.append("")
        out.append("## Summary")
        out.append("")
        out.append("| framework | evidenced | partial | gap | attestation needed | not applicable |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for f in r.frameworks {
            let c = f.statusCounts
            out.append("| \(f.framework.name) | \(c["evidenced"] ?? 0) | \(c["partial"] ?? 0) | \(c["gap"] ?? 0) | \(c["attestation-needed"] ?? 0) | \(c["not-applicable"] ?? 0) |")
        }
        out.append("")
        out.append("Agents in scope (\(r.agents.count)): \(r.agents.isEmpty ? "none" : r.agents.map(escape).joined(separator: ", ")). Records: \(r.records), of which calls: \(r.calls).")
        out.append("")
        if !r.findings.isEmpty {
            out.append("### Findings")
            out.append("")
            for f in r.findings { out.append("- **\(escape(ReportRenderer.findingLine(f)))** Remediation: \(escape(f.remediation))") }
            out.append("")
        }
        out.append("### Signals")
        out.append("")
        out.append("| signal | present | records | detail |")
        out.append("|---|---|---:|---|")
        for s in r.signals { out.append("| \(s.signal.rawValue) | \(s.present ? "yes" : "no") | \(s.count) | \(escape(s.detail)) |") }
        out.append("")
        for f in r.frameworks {
            out.append("## \(f.framework.name) (\(f.framework.version))")
            out.append("")
            for (group, controls) in ReportRenderer.groups(f.controls) {
                out.append("### \(group)")
                out.append("")
                for c in controls {
                    out.append("#### \(c.id) \(c.title): \(ReportRenderer.statusLabel(c.status))")
                    out.append("")
                    out.append(c.description)
                    out.append("")
                    out.append("*\(c.basis)*")
                    out.append("")
                    for e in c.evidence {
                        let samples = e.samples.isEmpty ? "" : " (e.g. \(e.samples.map(escape).joined(separator: ", ")))"
                        out.append("- \(e.present ? "✔" : "✘") `\(e.signal.rawValue)` (\(e.strength.rawValue)\(e.required ? ", required" : "")): \(e.count) record(s)\(samples). \(e.why)")
                    }
                    for finding in c.findings {
                        out.append("- Finding: \(escape(ReportRenderer.findingLine(finding))). Remediation: \(escape(finding.remediation))")
                    }
                    if let a = c.attestation { out.append("- Attestation needed: \(a)") }
                    if let why = c.rationale { out.append("- Not applicable: \(why)") }
                    out.append("")
                }
            }
        }
        return out.joined(separator: "\n")
    }

    static func scope(_ r: ComplianceReport) -> String {
        var parts: [String] = []
        if let a = r.scope.agent { parts.append("agent \(escape(a))") }
        if let t = r.scope.task { parts.append("task \(escape(t))") }
        return parts.isEmpty ? "the whole fleet" : parts.joined(separator: ", ")
    }

    /// Text that came from records, holds or heartbeats (agent and task
    /// ids, details): shown as text, never as markup. Markdown passes HTML
    /// through, so `<script>` in a task id would run where the report is
    /// rendered; a `|` would break a table row, a newline the list, a `[…](…)`
    /// would become a link.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "|", "[", "]", "*", "_", "`": out += "\\" + String(scalar)  // no table break, link, emphasis or code span
            case "\n", "\r", "\t": out += " "
            default:
                if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
