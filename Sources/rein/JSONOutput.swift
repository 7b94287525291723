import Foundation

/// JSON for CLI output: pretty, key-sorted (stable for diffs and scripts).
enum JSONOutput {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension JSONOutput {
    /// Prints `value` as JSON on standard output.
    static func print<T: Encodable>(_ value: T) {
        guard let text = try? encode(value) else { return }
        Swift.print(text)
    }
}
