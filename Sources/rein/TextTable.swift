import Foundation

/// Aligned columns for a person at a terminal, with every cell made safe
/// to print.
///
/// Why escape: cells come from records, holds and policies that an agent's
/// requests or a sidecar token fill in. A raw ESC, CR or newline there could
/// rewrite or hide rows of what an approver or investigator reads (a
/// forged "approved" line, a cleared screen). ``SafeText`` escapes them.
enum TextTable {
    static func print(_ rows: [[String]]) {
        let safe = rows.map { $0.map(SafeText.escape) }
        guard let columns = safe.first?.count else { return }
        let widths = (0..<columns).map { c in safe.map { $0.indices.contains(c) ? $0[c].count : 0 }.max() ?? 0 }
        for row in safe {
            Swift.print(row.enumerated().map { i, v in i == row.count - 1 ? v : v.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
    }
}
