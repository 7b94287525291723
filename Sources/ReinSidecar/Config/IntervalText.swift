import Foundation

/// `500ms`, `10s`, `2m`, `1h` → a ``Duration``, for settings that need less
/// than a second (batch and checkpoint intervals).
///
/// Why not `DurationText`: that one counts whole seconds (policy quotas and
/// timeouts); an interval of half a second is a sensible shipping cadence.
enum IntervalText {
    static func duration(_ text: String) -> Duration? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, millis) in units where t.hasSuffix(suffix) {
            guard let n = Int64(t.dropLast(suffix.count)), n > 0, n <= Int64.max / millis / 1_000_000 else { return nil }
            return .milliseconds(n * millis)
        }
        return nil
    }
}
