/// One self-contained, printable HTML file: the summary first (period,
/// scope, log integrity, status counts, findings, charts), then each
/// framework by function or group. Inline CSS and SVG only.
enum ReportHTML {
    static let css = """
    body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1a1a1a;max-width:960px;margin:24px auto;padding:0 16px}
    h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
    h3{font-size:16px;margin:20px 0 6px}.meta{color:#555;margin:0 0 12px}
    .banner{padding:10px 14px;border-radius:6px;margin:12px 0;font-weight:600}
    .banner.ok{background:#e8f5e9;color:#1b5e20}.banner.bad{background:#ffebee;color:#b71c1c;border:2px solid #c62828}
    .banner.warn{background:#fff8e1;color:#8d6e00}
    table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
    th{background:#f5f5f5}td.n{text-align:right}
    .st{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;white-space:nowrap}
    .st.evidenced{background:#c8e6c9;color:#1b5e20}.st.partial{background:#fff3c4;color:#795500}.st.gap{background:#ffcdd2;color:#b71c1c}
    .st.attestation-needed{background:#e3e7ed;color:#37474f}.st.not-applicable{background:#f0f0f0;color:#757575}
    .control{border:1px solid #e0e0e0;border-radius:6px;padding:8px 12px;margin:8px 0;page-break-inside:avoid}
    .control h4{margin:0 0 4px;font-size:14px}.basis{color:#444;font-style:italic}
    ul{margin:4px 0 4px 18px;padding:0}li{margin:2px 0}.ok{color:#2e7d32}.no{color:#c62828}
    code{font-size:12px;background:#f5f5f5;padding:0 3px;border-radius:3px}
    .chart{width:100%;height:auto;max-height:260px}.axis{font-size:11px;fill:#555}
    .legend{font-size:12px;margin:4px 0 12px}.key{margin-right:10px;white-space:nowrap}.key i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
    .empty{color:#777;font-style:italic}
    @media print{body{margin:0;max-width:none}h2{page-break-before:always}h2.first{page-break-before:avoid}.control{break-inside:avoid}}
    """

    static func render(_ r: ComplianceReport) -> String {
        var h: [String] = []
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
        h.append("<title>Rein framework-alignment report \(HTML.escape(r.period.start)) – \(HTML.escape(r.period.end))</title>")
        h.append("<style>\(css)</style></head><body>")
        h.append("<h1>Framework-alignment report</h1>")
        h.append("<p class=\"meta\">Rein · period \(HTML.escape(r.period.start)) to \(HTML.escape(r.period.end)) · scope: \(HTML.escape(ReportMarkdown.scope(r))) · \(r.records) records, \(r.calls) calls · \(r.agents.count) agent(s)</p>")
        let bannerClass: String
        switch r.integrity.state {
        case .verified: bannerClass = "ok"
        case .broken: bannerClass = "bad"
        case .unverified, .noData: bannerClass = "warn"
        }
        h.append("<div class=\"banner \(bannerClass)\" id=\"integrity\">\(HTML.escape(ReportRenderer.integrityHeadline(r.integrity)))</div>")

        h.append("<h2 class=\"first\">Summary</h2>")
        h.append("<table><tr><th>Framework</th><th>Evidenced</th><th>Partial</th><th>Gap</th><th>Attestation needed</th><th>Not applicable</th></tr>")
        for f in r.frameworks {
            let c = f.statusCounts
            h.append("<tr><td><a href=\"#fw-\(anchor(f.framework.id))\">\(HTML.escape(f.framework.name))</a></td>"
                + ["evidenced", "partial", "gap", "attestation-needed", "not-applicable"].map { "<td class=\"n\">\(c[$0] ?? 0)</td>" }.joined() + "</tr>")
        }
        h.append("</table>")
        h.append("<p>Agents in scope: \(r.agents.isEmpty ? "none" : r.agents.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", ")).</p>")
        if !r.findings.isEmpty {
            h.append("<h3>Findings that cause gaps</h3><table><tr><th>Finding</th><th>Where</th><th>What</th><th>Remediation</th></tr>")
            for f in r.findings {
                h.append("<tr><td><span class=\"st gap\">\(HTML.escape(f.kind.rawValue))</span></td><td>\(HTML.escape(where_(f)))</td><td>\(HTML.escape(f.detail))</td><td>\(HTML.escape(f.remediation))</td></tr>")
            }
            h.append("</table>")
        }
        h.append("<h3>Decisions over time</h3>")
        h.append(ReportCharts.byDay(r.decisionsByDay))
        h.append("<h3>Decisions by agent</h3>")
        h.append(ReportCharts.byAgent(r.decisionsByAgent))
        h.append("<h3>Signals</h3><table><tr><th>Signal</th><th>Present</th><th>Records</th><th>Detail</th></tr>")
        for s in r.signals {
            h.append("<tr><td><code>\(HTML.escape(s.signal.rawValue))</code><br>\(HTML.escape(s.signal.summary))</td><td class=\"\(s.present ? "ok" : "no")\">\(s.present ? "yes" : "no")</td><td class=\"n\">\(s.count)</td><td>\(HTML.escape(s.detail))</td></tr>")
        }
        h.append("</table>")

        for f in r.frameworks {
            h.append("<h2 id=\"fw-\(anchor(f.framework.id))\">\(HTML.escape(f.framework.name)) <small>(\(HTML.escape(f.framework.version)), \(HTML.escape(f.framework.publisher)))</small></h2>")
            for (group, controls) in ReportRenderer.groups(f.controls) {
                let counts = Dictionary(grouping: controls, by: \.status).mapValues(\.count)
                let chips = ControlStatus.allCases.compactMap { s in counts[s].map { "<span class=\"st \(s.rawValue)\">\($0) \(ReportRenderer.statusLabel(s).lowercased())</span>" } }.joined(separator: " ")
                h.append("<h3>\(HTML.escape(group)) \(chips)</h3>")
                for c in controls { h.append(control(c)) }
            }
        }
        h.append("<p class=\"meta\">Generated by Rein from the collector's audit records. Schema \(ComplianceReport.schemaVersion). Statuses follow Compliance/README.md: evidence a proxy cannot produce is marked \"attestation needed\", never assumed.</p>")
        h.append("</body></html>")
        return h.joined(separator: "\n") + "\n"
    }

    static func control(_ c: ComplianceReport.ControlResult) -> String {
        var h = "<div class=\"control\" id=\"c-\(anchor(c.id))\"><h4>\(HTML.escape(c.id)) · \(HTML.escape(c.title)) <span class=\"st \(c.status.rawValue)\">\(ReportRenderer.statusLabel(c.status))</span></h4>"
        h += "<div>\(HTML.escape(c.description))</div><div class=\"basis\">\(HTML.escape(c.basis))</div>"
        var items: [String] = []
        for e in c.evidence {
            let samples = e.samples.isEmpty ? "" : " e.g. " + e.samples.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", ")
            items.append("<li><span class=\"\(e.present ? "ok" : "no")\">\(e.present ? "✔" : "✘")</span> <code>\(HTML.escape(e.signal.rawValue))</code> (\(e.strength.rawValue)\(e.required ? ", required" : "")): \(e.count) record(s).\(samples) \(HTML.escape(e.why))</li>")
        }
        for f in c.findings {
            items.append("<li class=\"no\">Finding: \(HTML.escape(ReportRenderer.findingLine(f))). Remediation: \(HTML.escape(f.remediation))</li>")
        }
        if let a = c.attestation { items.append("<li>Attestation needed: \(HTML.escape(a))</li>") }
        if let why = c.rationale { items.append("<li>Not applicable: \(HTML.escape(why))</li>") }
        if !items.isEmpty { h += "<ul>\(items.joined())</ul>" }
        return h + "</div>"
    }

    static func where_(_ f: ComplianceFinding) -> String {
        [f.agentId.map { "agent \($0)" }, f.taskId.map { "task \($0)" }, f.sidecarId.map { "sidecar \($0)" },
         f.policyVersion.map { "policy v\($0)" }, f.holdId.map { "hold \($0)" }, f.recordId.map { "record \($0)" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    static func anchor(_ s: String) -> String {
        String(s.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
