import Foundation

/// Text from the outside (records, holds, request fields) made safe for a
/// terminal or a line-per-event log: C0 and C1 control characters, DEL and
/// bidirectional overrides are shown as `\xNN` / `\u{…}` escapes.
///
/// Why: a raw ESC, CR or newline could rewrite what a person reads, or
/// start a forged log line; a bidi override reorders what is shown.
enum SafeText {
    /// `text` with C0 and C1 control characters and DEL escaped.
    static func escape(_ text: String) -> String {
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
