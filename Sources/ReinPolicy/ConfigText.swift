/// A configuration value as an error message may quote it.
///
/// Why: a value refused for its shape (`'…' is not a duration`) is often
/// one pasted into the wrong key, and a pasted secret (a 40-character key,
/// a token) must not reach stderr and logs. The short values that shape
/// checks are about (`30sec`, `yes`, a role name) are quoted as they are.
public enum ConfigText {
    public static func quoted(_ value: String) -> String {
        value.count <= 24 && !value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
            ? "'\(value)'" : "a \(value.count)-character value"
    }
}
