import Foundation

/// The AWS shared `credentials` and `config` files: INI sections of
/// `key = value` lines.
///
/// Follows botocore's reading: `#` and `;` start comment lines only (a `#`
/// inside a value is part of it), keys are case-sensitive, indented lines
/// after a key with an empty value form a sub-section (e.g. `s3 =`) that is
/// skipped, and a later duplicate section adds to an earlier one.
struct SharedConfigFile: Sendable, Equatable {
    /// Section name exactly as written between the brackets, trimmed.
    private(set) var sections: [String: [String: String]] = [:]

    init(parsing text: String) {
        var current: String?
        var inSubsection = false
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indented = line.first == " " || line.first == "\t"
            if indented && inSubsection { continue }
            inSubsection = false
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else { current = nil; continue }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let eq = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<eq].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.isEmpty { inSubsection = true }
            sections[section, default: [:]][key] = value
        }
    }

    subscript(section: String) -> [String: String]? { sections[section] }
}
