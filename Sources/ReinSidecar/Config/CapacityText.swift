import Foundation
import ReinPolicy

/// `256Mi`, `1Gi`, `64MiB`, `10MB`, `4096` → bytes, for caps that may pass 2 GiB.
enum CapacityText {
    static func bytes(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let n = Int64(t.dropLast(suffix.count)), n > 0, n <= Int64.max / factor else { return nil }
            return n * factor
        }
        return ByteSizeText.bytes(t)
    }
}
