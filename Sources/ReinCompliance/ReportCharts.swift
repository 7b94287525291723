/// Inline SVG charts for the HTML report: decisions per day (stacked
/// columns) and per agent (stacked bars). No script, no external asset,
/// so the file prints and renders anywhere; empty data gives a sentence,
/// never an empty chart.
enum ReportCharts {
    static let palette: [(String, String)] = [
        ("allow", "#2e7d32"), ("deny", "#c62828"), ("hold-approved", "#1565c0"), ("hold-denied", "#ef6c00"),
        ("hold-expired", "#6d4c41"), ("hold-pending", "#8e24aa"), ("would-deny", "#f9a825"), ("would-hold", "#fdd835"),
        ("error", "#546e7a"),
    ]

    static func color(_ decision: String) -> String {
        palette.first { $0.0 == decision }?.1 ?? "#90a4ae"
    }

    /// Decisions present in the data, in palette order then by name.
    static func decisions(_ rows: [DecisionCounts]) -> [String] {
        let seen = Set(rows.flatMap { $0.counts.filter { $0.value > 0 }.keys })
        let known = palette.map(\.0).filter { seen.contains($0) }
        return known + seen.subtracting(known).sorted()
    }

    static func legend(_ decisions: [String]) -> String {
        decisions.map { "<span class=\"key\"><i style=\"background:\(color($0))\"></i>\(HTML.escape($0))</span>" }.joined(separator: " ")
    }

    static func byDay(_ rows: [DecisionCounts]) -> String {
        let data = rows.filter { $0.total > 0 }
        guard !data.isEmpty else { return "<p class=\"empty\">No calls in this period.</p>" }
        let keys = decisions(data)
        let maxTotal = niceCeiling(max(1, data.map(\.total).max() ?? 1))
        let width = 720.0, height = 220.0, left = 48.0, bottom = 36.0, top = 10.0
        let plotW = width - left - 10, plotH = height - bottom - top
        let slot = plotW / Double(data.count)
        let barW = max(2, min(40, slot * 0.7))
        var svg = "<svg class=\"chart\" role=\"img\" aria-label=\"Decisions per day\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(width - 10)\" y2=\"\(top + plotH)\" stroke=\"#999\"/>"
        for tick in 0...4 {
            let v = Double(maxTotal) * Double(tick) / 4
            let y = top + plotH - plotH * Double(tick) / 4
            svg += "<text x=\"\(left - 6)\" y=\"\(fmt(y + 4))\" text-anchor=\"end\" class=\"axis\">\(Int(v.rounded()))</text>"
            if tick > 0 { svg += "<line x1=\"\(left)\" y1=\"\(fmt(y))\" x2=\"\(width - 10)\" y2=\"\(fmt(y))\" stroke=\"#eee\"/>" }
        }
        let labelEvery = max(1, data.count / 10)
        for (i, row) in data.enumerated() {
            let x = left + slot * Double(i) + (slot - barW) / 2
            var y = top + plotH
            for k in keys {
                guard let n = row.counts[k], n > 0 else { continue }
                let h = plotH * Double(n) / Double(maxTotal)
                y -= h
                svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(barW))\" height=\"\(fmt(max(h, 0.5)))\" fill=\"\(color(k))\"><title>\(HTML.escape(row.label)) \(HTML.escape(k)): \(n)</title></rect>"
            }
            if i % labelEvery == 0 {
                svg += "<text x=\"\(fmt(x + barW / 2))\" y=\"\(fmt(top + plotH + 14))\" text-anchor=\"middle\" class=\"axis\">\(HTML.escape(String(row.label.suffix(5))))</text>"
            }
        }
        svg += "</svg>"
        return svg + "<div class=\"legend\">\(legend(keys))</div>"
    }

    static func byAgent(_ rows: [DecisionCounts]) -> String {
        let data = rows.filter { $0.total > 0 }
        guard !data.isEmpty else { return "<p class=\"empty\">No calls by any agent in this period.</p>" }
        let keys = decisions(data)
        let maxTotal = max(1, data.map(\.total).max() ?? 1)
        let rowH = 24.0, left = 170.0, width = 720.0
        let height = rowH * Double(data.count) + 20
        let plotW = width - left - 70
        var svg = "<svg class=\"chart\" role=\"img\" aria-label=\"Decisions by agent\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for (i, row) in data.enumerated() {
            let y = 10 + rowH * Double(i)
            svg += "<text x=\"\(left - 8)\" y=\"\(fmt(y + 15))\" text-anchor=\"end\" class=\"axis\">\(HTML.escape(String(row.label.prefix(24))))</text>"
            var x = left
            for k in keys {
                guard let n = row.counts[k], n > 0 else { continue }
                let w = plotW * Double(n) / Double(maxTotal)
                svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(max(w, 0.5)))\" height=\"\(fmt(rowH - 8))\" fill=\"\(color(k))\"><title>\(HTML.escape(row.label)) \(HTML.escape(k)): \(n)</title></rect>"
                x += w
            }
            svg += "<text x=\"\(fmt(x + 6))\" y=\"\(fmt(y + 15))\" class=\"axis\">\(row.total)</text>"
        }
        svg += "</svg>"
        return svg + "<div class=\"legend\">\(legend(keys))</div>"
    }

    /// The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `v` that splits into
    /// four whole ticks: axis labels people read at a glance.
    static func niceCeiling(_ v: Int64) -> Int64 {
        var magnitude: Int64 = 1
        while magnitude * 10 <= v { magnitude *= 10 }
        for step: Int64 in [1, 2, 4, 5, 8, 10] {
            let candidate = step * magnitude
            if candidate >= v, candidate % 4 == 0 || candidate < 4 { return max(candidate, 4) }
        }
        return max(((v + 3) / 4) * 4, 4)
    }

    static func fmt(_ v: Double) -> String {
        let r = (v * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
