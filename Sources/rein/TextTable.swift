import Foundation

/// Aligned columns for a person at a terminal, with every cell made safe
/// to print.
///
/// Why escape: cells come from records, holds and policies that an agent's
/// requests or a sidecar token fill in. A raw ESC, CR or newline there could
/// rewrite or hide rows of what an approver or investigator reads (a
/// forged "approved" line, a cleared screen). Control characters are shown
/// as `\xNN` / `\u{…}` escapes instead.
enum TextTable {
    static func print(_ rows: [[String]]) {
        let safe = rows.map { $0.map(TextTable.safe) }
        guard let columns = safe.first?.count else { return }
        let widths = (0..<columns).map { c in safe.map { $0.indices.contains(c) ? $0[c].count : 0 }.max() ?? 0 }
        for row in safe {
            Swift.print(row.enumerated().map { i, v in i == row.count - 1 ? v : v.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
    }

    /// `text` with C0 and C1 control characters and DEL escaped.
    static func safe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                out += scalar.value < 0x100 ? "\\x" + String(format: "%02x", scalar.value) : "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func isControl(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7f...0x9f).contains(s.value)
            // Bidirectional overrides reorder what is shown (a "Trojan Source" line).
            || (0x202a...0x202e).contains(s.value) || (0x2066...0x2069).contains(s.value)
    }
}
